import { MemoryStore, Runtime, builtinBackends, type Limits, type RuntimeLogger } from "../../src/index.ts";
import { createApp, type App, type CreateAppOptions } from "../../src/server/index.ts";
export { until } from "../support/wait.ts";

/** Small limits so oversize cases stay cheap; `slow` and `stuck` echo profiles for wait/cancel. */
export const TEST_LIMITS: Partial<Limits> = {
  max_input_bytes: 1024,
  max_body_bytes: 4096,
};

export interface Harness {
  runtime: Runtime;
  app: App;
  close(): Promise<void>;
}

export async function harness(
  options: CreateAppOptions = {},
  limits: Partial<Limits> = {},
): Promise<Harness> {
  const runtime = await Runtime.open({
    store: new MemoryStore(),
    backends: builtinBackends,
    profiles: {
      slow: { backend: "echo", delay_ms: 50 },
      // Never finishes on its own within a test: only cancel/stop/close end its runs.
      stuck: { backend: "echo", delay_ms: 3_600_000 },
    },
    limits: { ...TEST_LIMITS, ...limits },
    runtime_id: "rt-test",
  });
  const app = createApp(runtime, options);
  return { runtime, app, close: () => runtime.close() };
}

export interface CallOptions {
  /** Sent as JSON with `content-type: application/json` unless `raw` is given. */
  json?: unknown;
  raw?: BodyInit;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface CallResult {
  status: number;
  headers: Headers;
  body: any;
  text: string;
}

export async function call(app: App, method: string, path: string, options: CallOptions = {}): Promise<CallResult> {
  const headers: Record<string, string> = { ...options.headers };
  let body: BodyInit | undefined = options.raw;
  if (options.json !== undefined) {
    body = JSON.stringify(options.json);
    headers["content-type"] ??= "application/json";
  }
  const response = await app.handle(
    new Request(`http://localhost${path}`, { method, body, headers, signal: options.signal }),
  );
  const text = await response.text();
  let parsed: unknown = undefined;
  if (text.length > 0 && (response.headers.get("content-type") ?? "").includes("json")) parsed = JSON.parse(text);
  return { status: response.status, headers: response.headers, body: parsed, text };
}

export async function createWorker(app: App, request: Record<string, unknown> = {}): Promise<string> {
  const result = await call(app, "POST", "/v1/workers", { json: request });
  if (result.status !== 201) throw new Error(`create failed: ${result.status} ${result.text}`);
  return result.body.worker.worker_ref.worker_id;
}

/** Asserts the uniform error body (SPEC §9) and returns its `error` object. */
export function errorOf(result: CallResult, status: number, code: string): { code: string; message: string; details?: any } {
  if (result.status !== status || result.body?.error?.code !== code) {
    throw new Error(`expected ${status} ${code}, got ${result.status} ${result.text}`);
  }
  const keys = Object.keys(result.body);
  if (keys.length !== 1) throw new Error(`error body has extra keys: ${keys.join(",")}`);
  if (typeof result.body.error.message !== "string" || result.body.error.message.length === 0) {
    throw new Error("error without a message");
  }
  if (/\bat .*\.(ts|js):\d+/.test(result.text)) throw new Error(`error body leaks a stack trace: ${result.text}`);
  if (result.headers.get("content-type") !== "application/json") throw new Error("error body is not JSON");
  return result.body.error;
}

export interface LogLine {
  level: "debug" | "info" | "warn" | "error";
  message: string;
  fields?: Record<string, unknown>;
}

export function captureLogger(): { logger: RuntimeLogger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: LogLine["level"]) => (message: string, fields?: Record<string, unknown>) => {
    lines.push({ level, message, fields });
  };
  return { lines, logger: { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") } };
}
