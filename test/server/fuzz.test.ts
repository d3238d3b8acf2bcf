/**
 * Fuzzing of the HTTP API (SPEC §9, §10) and of the Runtime library API (§3) with fast-check.
 *
 * Every request a property sends is random: JSON bodies on every POST route, bodies in every
 * encoding (invalid UTF-8, duplicate keys, deep nesting, over `max_body_bytes`, wrong or missing
 * content types, chunked), path segments and query values (percent-encoding, `..`, `%2e%2e`,
 * `%2f`, NUL, unicode, very long), and a subset as raw bytes over a real socket. Properties:
 * - every answer is a success of the route or a typed 4xx `{"error": {"code", "message"}}` whose
 *   code is in the SPEC §9 table with that table's status — never a 5xx, never a stack trace;
 * - where the input decides the outcome (a body over the limit, invalid UTF-8, a repeated key,
 *   nesting, a non-JSON content type) the code is the one SPEC §10 names;
 * - the server keeps serving (`/healthz`, a valid create and a run work after each property);
 * - nothing is written outside the fs store's data dir, and `workers/` holds only the directories
 *   of workers that were created.
 * Library calls with random arguments resolve or throw a `RuntimeError` with a 4xx code.
 *
 * Fixed seed, bounded runs: `YOI_FUZZ_RUNS=N` runs every property N times (and lifts the test
 * timeouts), `YOI_FUZZ_SEED=S` changes the seed; `bun scripts/bench/fuzz.ts` runs it long.
 */
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import fc from "fast-check";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ERROR_CODES, FsStore, MemoryStore, Runtime, RuntimeError, builtinBackends } from "../../src/index.ts";
import { isValidId } from "../../src/core/ids.ts";
import { listen, type Listener } from "../../src/platform/index.ts";
import { createApp, isLongLived } from "../../src/server/index.ts";
import { call, errorOf } from "./helpers.ts";
import { until } from "../support/wait.ts";

// ---------------------------------------------------------------- knobs

const envRuns = Number(process.env.YOI_FUZZ_RUNS ?? "");
const LONG = Number.isSafeInteger(envRuns) && envRuns > 0 ? envRuns : null;
const SEED = Number.isSafeInteger(Number(process.env.YOI_FUZZ_SEED)) && process.env.YOI_FUZZ_SEED ? Number(process.env.YOI_FUZZ_SEED) : 0x5eed;
/** Runs of one property: its bounded default, or YOI_FUZZ_RUNS. */
const runs = (bounded: number) => LONG ?? bounded;
/** Per-test timeout: the command line's for a bounded run, none to speak of for a long one. */
const TIMEOUT = LONG ? 6 * 3_600_000 : 30_000;
const settings = (bounded: number): fc.Parameters<unknown> => ({ numRuns: runs(bounded), seed: SEED, endOnFailure: true });

const MAX_BODY = 65_536;
const MAX_INPUT = 1024;

/**
 * SPEC §9, the codes a fuzzed request may get, with their statuses. The 5xx rows (`store_*`,
 * `internal`, `runtime_unavailable`) are left out on purpose: no input may cause one.
 */
const SPEC_4XX: Readonly<Record<string, number>> = {
  invalid_request: 400,
  invalid_json: 400,
  invalid_worker_id: 400,
  limit_too_large: 400,
  unknown_profile: 400,
  wrong_runtime: 400,
  unauthorized: 401,
  forbidden_origin: 403,
  worker_not_found: 404,
  run_not_found: 404,
  route_not_found: 404,
  method_not_allowed: 405,
  cursor_expired: 410,
  worker_exists: 409,
  worker_busy: 409,
  worker_stopped: 409,
  payload_too_large: 413,
  unsupported_media_type: 415,
  unsupported_capability: 422,
  unsupported_operation: 422,
  worker_limit_reached: 429,
};
const STACK_TRACE = /\bat .*\.(ts|js|mjs):\d+|node_modules|\/work\/|\bTypeError\b|\bRangeError\b|\bSyntaxError\b/;

// ---------------------------------------------------------------- the server under test

/** Workers live under parent/l1/l2/l3/data, so a `../` up to four levels deep lands inside parent. */
let parent: string;
let root: string;
let runtime: Runtime;
let app: ReturnType<typeof createApp>;
/** Every worker id a create acknowledged (HTTP 201 or a resolved createWorker). */
const created = new Set<string>();

beforeAll(async () => {
  parent = mkdtempSync(join(tmpdir(), "yoi-fuzz-"));
  root = join(parent, "l1", "l2", "l3", "data");
  mkdirSync(root, { recursive: true });
  runtime = await Runtime.open({
    store: new FsStore({ root, durability: "none" }),
    backends: builtinBackends,
    profiles: { slow: { backend: "echo", delay_ms: 5 } },
    limits: { max_body_bytes: MAX_BODY, max_input_bytes: MAX_INPUT },
    runtime_id: "rt-fuzz",
  });
  app = createApp(runtime);
  await ensureFixtures();
});

afterAll(async () => {
  await runtime.close();
  rmSync(parent, { recursive: true, force: true });
});

/** `w0` exists (whatever state the fuzz left it in) and `s0` exists, stopped. */
async function ensureFixtures(): Promise<void> {
  for (const id of ["w0", "s0"]) {
    try {
      await runtime.getWorker(id);
    } catch {
      await runtime.createWorker({ worker_id: id });
      created.add(id);
    }
  }
  await runtime.stopWorker("s0");
}

/** Every path under `dir`, relative, directories with a trailing slash. */
function tree(dir: string, prefix = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const relative = `${prefix}${entry.name}`;
    if (entry.isDirectory()) out.push(`${relative}/`, ...tree(join(dir, entry.name), `${relative}/`));
    else out.push(relative);
  }
  return out.sort();
}

/** Nothing outside the data dir, and only created workers' directories inside workers/. */
function expectFilesContained(): void {
  const outside = tree(parent).filter((path) => !path.startsWith("l1/l2/l3/data/"));
  expect(outside).toEqual(["l1/", "l1/l2/", "l1/l2/l3/"]);
  let workers: string[] = [];
  try {
    workers = readdirSync(join(root, "workers"));
  } catch {
    // No worker written yet.
  }
  const unexpected = workers.filter((name) => !isValidId(name) || !created.has(name));
  expect(unexpected).toEqual([]);
}

/** The server still answers /healthz, creates a worker and runs its input. */
async function expectStillServing(): Promise<void> {
  const health = await send("GET", "/healthz");
  expect(health.status).toBe(200);
  expect(JSON.parse(health.text)).toEqual({ ok: true });
  const id = `alive-${created.size}-${Math.floor(Math.random() * 1e9)}`;
  const worker = await send("POST", "/v1/workers", { body: JSON.stringify({ worker_id: id }) });
  expect(worker.status).toBe(201);
  created.add(id);
  const answer = await send("POST", `/v1/workers/${id}/input?wait=30`, { body: JSON.stringify({ kind: "user", content: "still here" }) });
  expect(answer.status).toBe(200);
  expect(JSON.parse(answer.text).run.status).toBe("completed");
}

// ---------------------------------------------------------------- sending and judging

interface Sent {
  method: string;
  url: string;
  status: number;
  contentType: string | null;
  text: string;
}

interface SendOptions {
  /** Sent as given; a string is UTF-8 encoded. Content type `application/json` unless `type` says otherwise. */
  body?: string | Uint8Array;
  /** `null`: no Content-Type header. */
  type?: string | null;
  /** `fixed` (default): bytes; `length`: bytes with an explicit Content-Length; `chunks`: a stream of these sizes. */
  framing?: { kind: "fixed" } | { kind: "length" } | { kind: "chunks"; sizes: number[] };
  headers?: Record<string, string>;
  target?: { handle(request: Request): Promise<Response> | Response };
}

const encoder = new TextEncoder();

function bodyInit(bytes: Uint8Array, framing: NonNullable<SendOptions["framing"]>): BodyInit {
  if (framing.kind !== "chunks") return bytes as Uint8Array<ArrayBuffer>;
  const parts: Uint8Array[] = [];
  let offset = 0;
  for (const size of framing.sizes) {
    if (offset >= bytes.length) break;
    parts.push(bytes.subarray(offset, offset + Math.max(1, size)));
    offset += Math.max(1, size);
  }
  if (offset < bytes.length) parts.push(bytes.subarray(offset));
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (const part of parts) controller.enqueue(part);
      controller.close();
    },
  });
}

/** One request through `app.handle`; an event stream that opened is cancelled at once. */
async function send(method: string, path: string, options: SendOptions = {}): Promise<Sent> {
  const url = `http://localhost${path}`;
  const headers: Record<string, string> = { ...options.headers };
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    const bytes = typeof options.body === "string" ? encoder.encode(options.body) : options.body;
    const type = options.type === undefined ? "application/json" : options.type;
    if (type !== null) headers["content-type"] = type;
    const framing = options.framing ?? { kind: "fixed" };
    if (framing.kind === "length") headers["content-length"] = String(bytes.length);
    body = bodyInit(bytes, framing);
  }
  const request = new Request(url, { method, headers, body });
  const response = await (options.target ?? app).handle(request);
  const contentType = response.headers.get("content-type");
  let text: string;
  if (contentType?.startsWith("text/event-stream")) {
    await response.body?.cancel();
    text = "";
  } else {
    text = await response.text();
  }
  noteCreated(response.status, text);
  return { method, url: request.url, status: response.status, contentType, text };
}

/** Whatever path a create took (a fuzzed URL may resolve to POST /v1/workers), its worker is expected on disk. */
function noteCreated(status: number, text: string): void {
  if (status !== 201) return;
  const id = JSON.parse(text)?.worker?.worker_ref?.worker_id;
  if (typeof id === "string") created.add(id);
}

/** Fails with the request and the answer in the message, so a counterexample explains itself. */
function fail(sent: Sent, why: string): never {
  throw new Error(`${sent.method} ${sent.url.slice(0, 300)} -> ${sent.status} ${sent.text.slice(0, 300)}: ${why}`);
}

/**
 * The property every answer keeps: a success status of the route, or a typed 4xx whose code is
 * in the SPEC §9 table with its status. Returns the error code (null for a success).
 */
function judge(sent: Sent, successes: readonly number[] = [200, 201, 202]): string | null {
  if (sent.status < 400) {
    if (!successes.includes(sent.status)) fail(sent, `unexpected success status (expected one of ${successes.join(", ")})`);
    return null;
  }
  if (sent.status >= 500) fail(sent, "a 5xx for a client's input");
  if (sent.method === "HEAD") return "";
  if (sent.contentType !== "application/json") fail(sent, "an error without a JSON body");
  let body: any;
  try {
    body = JSON.parse(sent.text);
  } catch {
    fail(sent, "an error body that does not parse");
  }
  if (typeof body !== "object" || body === null || Object.keys(body).join() !== "error") fail(sent, "an error body with keys other than error");
  const error = body.error;
  const keys = Object.keys(error);
  if (!keys.includes("code") || !keys.includes("message") || keys.some((key) => !["code", "message", "details"].includes(key))) {
    fail(sent, "error must be {code, message, details?}");
  }
  if (typeof error.message !== "string" || error.message.length === 0) fail(sent, "an error without a message");
  const status = SPEC_4XX[error.code];
  if (status === undefined) fail(sent, `code ${error.code} is not a 4xx of the SPEC §9 table`);
  if (status !== sent.status) fail(sent, `code ${error.code} is ${status} in SPEC §9`);
  if (STACK_TRACE.test(sent.text)) fail(sent, "the error leaks internals");
  return error.code;
}

function expectCode(sent: Sent, status: number, code: string): void {
  const got = judge(sent);
  if (sent.status !== status || got !== code) fail(sent, `expected ${status} ${code}`);
}

// ---------------------------------------------------------------- generators

const fatalUtf8 = new TextDecoder("utf-8", { fatal: true });
const isUtf8 = (bytes: Uint8Array) => {
  try {
    fatalUtf8.decode(bytes);
    return true;
  } catch {
    return false;
  }
};

/** Segments that have broken servers before: traversal in every spelling, NUL, bad escapes, unicode. */
const NASTY = [
  "..", ".", "...", "%2e%2e", "%2E%2E", ".%2e", "%2e.", "%2e", "%2f", "%2F", "a%2fb", "..%2f..%2f..%2fetc",
  "%2e%2e%2f%2e%2e%2f%2e%2e%2f%2e%2e%2ftmp", "..%5c..%5cx", "%5c", "\\..\\..\\x", "%00", "w0%00", "w0%00.json",
  "%", "%%", "%zz", "%2", "%C0%AE%C0%AE", "%c0%2f", "%ff%fe", "%u002e%u002e", "%252e%252e", "%25", "ü", "%C3%BC",
  "%F0%9F%98%80", "😀", "%ED%A0%80", "w0;x", "w0%3Bx", "w0%3F", "w0%23", "w0?x=1", "w0#x", ".hidden", "-x", "_x",
  "x".repeat(128), "x".repeat(129), "CON", "nul", "w0/..", "w0/../..", "w0/../../..", "w0//", "//", "%20", "w0%20",
  "%09", "%0a", "%0d%0a", "W0", "ｗ０", "w0.", "w0..", "workers", "LOCK", "runtime.json", "events", "state.json",
];
const FIXTURES = ["w0", "s0", "nope"];

const validId = fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._-]{0,24}$/);
const segment: fc.Arbitrary<string> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...NASTY) },
  { weight: 3, arbitrary: fc.constantFrom(...FIXTURES) },
  { weight: 2, arbitrary: validId },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 24 }).map(encodeURIComponent) },
  { weight: 1, arbitrary: fc.string({ unit: "binary", maxLength: 12 }).map((s) => encodeURIComponent(encodeURIComponent(s))) },
  { weight: 1, arbitrary: fc.integer({ min: 100, max: 20_000 }).map((n) => "a".repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 1, max: 2_000 }).map((n) => "%2e%2e%2f".repeat(n)) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom(...NASTY, "w0"), { minLength: 2, maxLength: 5 }).map((parts) => parts.join("")) },
);

const QUERY_NAMES = ["start", "limit", "tail", "wait", "after", "worker_id", "status"];
const QUERY_VALUES = [
  "0", "1", "2", "-1", "01", "1e2", "0x10", "1.0", "1.5", " 1", "1 ", "+1", "", "NaN", "Infinity", "-0",
  "9007199254740991", "9007199254740993", "99999999999999999999", "256", "257", "300", "301", "500", "501",
  "idle", "running", "stopped", "unavailable", "IDLE", "w0", "s0", "%", "%zz", "%00", "..", "%2e%2e", "true",
  "null", "[]", "{}", "1,2", "1&limit=2",
];
const queryValue = fc.oneof(
  fc.constantFrom(...QUERY_VALUES),
  fc.nat().map(String),
  fc.bigInt({ min: 0n, max: 10n ** 30n }).map(String),
  segment,
);
const query: fc.Arbitrary<string> = fc
  .array(fc.tuple(fc.oneof(fc.constantFrom(...QUERY_NAMES), fc.string({ maxLength: 8 })), queryValue, fc.boolean()), {
    maxLength: 5,
  })
  .map((pairs) =>
    pairs.length === 0
      ? ""
      : `?${pairs.map(([name, value, encode]) => (encode ? `${encodeURIComponent(name)}=${encodeURIComponent(value)}` : `${name}=${value}`)).join("&")}`,
  );

const PATHS: ((a: string, b: string) => string)[] = [
  (a) => `/v1/workers/${a}`,
  (a) => `/v1/workers/${a}/input`,
  (a) => `/v1/workers/${a}/stop`,
  (a) => `/v1/workers/${a}/cancel`,
  (a) => `/v1/workers/${a}/restore`,
  (a) => `/v1/workers/${a}/transcript`,
  (a) => `/v1/workers/${a}/runs`,
  (a, b) => `/v1/workers/${a}/runs/${b}`,
  (a) => `/v1/workers/w0/${a}`,
  (a) => `/v1/${a}`,
  (a) => `/${a}`,
  (a, b) => `/${a}/${b}`,
  () => "/v1/workers",
  () => "/v1/events",
  () => "/v1/events/stream",
  () => "/v1/runtime",
  () => "/v1/diagnostics",
  () => "/healthz",
  () => "/openapi.json",
];
const METHODS = ["GET", "GET", "GET", "POST", "POST", "DELETE", "PUT", "PATCH", "HEAD", "OPTIONS", "FUZZ"];

/** Free text in the shapes that break validators: empty, control characters, traversal, long, any code point. */
const text = fc.oneof(
  fc.string({ maxLength: 30 }),
  fc.string({ unit: "binary", maxLength: 30 }),
  fc.constantFrom("", "\u0000", "a\u001fb", "\u007f", "..", "../../x", "%2e%2e", "\ud800", "\udfff", "\u2028", "é".repeat(600)),
  fc.integer({ min: 0, max: 5_000 }).map((n) => "x".repeat(n)),
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
/** A valid value most of the time, anything JSON some of the time. */
const field = <T>(valid: fc.Arbitrary<T>) => fc.oneof({ weight: 3, arbitrary: valid as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson });
const withExtra = (record: fc.Arbitrary<Record<string, unknown>>) =>
  fc.tuple(record, fc.option(fc.tuple(fc.oneof(fc.string({ maxLength: 10 }), fc.constantFrom("__proto__", "constructor", "toString")), anyJson), { freq: 5 })).map(
    ([value, extra]) => (extra ? { ...value, [extra[0]]: extra[1] } : value),
  );

const namedRef = fc.record({ name: field(text), reference: field(text) }, { requiredKeys: [] });
const createBody = withExtra(
  fc.record(
    {
      worker_id: field(fc.oneof(validId, segment)),
      display_name: field(text),
      intent: field(
        fc.record(
          { kind: fc.constantFrom("assistant", "task", "role", "other"), purpose: text, objective: text, role: text },
          { requiredKeys: ["kind"] },
        ),
      ),
      profile: field(
        fc.record({ kind: fc.constantFrom("runtime_default", "builtin", "named", "x"), value: fc.oneof(fc.constantFrom("echo", "slow", "nope"), text) }, { requiredKeys: [] }),
      ),
      config_bundle: field(fc.record({ id: text }, { requiredKeys: [] })),
      requested_capabilities: field(fc.array(fc.record({ name: text, reason: text }, { requiredKeys: ["name"] }), { maxLength: 70 })),
      workspace_refs: field(fc.array(namedRef, { maxLength: 3 })),
      mount_refs: field(fc.array(namedRef, { maxLength: 3 })),
    },
    { requiredKeys: [] },
  ),
);
const inputBody = withExtra(
  fc.record({ kind: field(fc.constantFrom("user", "system", "robot", "")), content: field(text) }, { requiredKeys: [] }),
);
const reasonBody = withExtra(fc.record({ reason: field(text) }, { requiredKeys: [] }));

type Route = "create" | "input" | "input_wait" | "stop" | "cancel" | "restore";
const ROUTES: readonly Route[] = ["create", "input", "input_wait", "stop", "cancel", "restore"];
const routePath = (route: Route, worker: string) =>
  route === "create" ? "/v1/workers" : route === "input_wait" ? `/v1/workers/${worker}/input?wait=1` : `/v1/workers/${worker}/${route}`;
const routeSuccess = (route: Route): number[] => (route === "create" ? [201] : route.startsWith("input") ? [200, 202] : [200]);
const bodyFor = (route: Route) => (route === "create" ? createBody : route.startsWith("input") ? inputBody : reasonBody);

/** A JSON request for a POST route, its body drawn for that route (or any JSON at all). */
const jsonRequest = fc.constantFrom(...ROUTES).chain((route) =>
  fc.record({
    route: fc.constant(route),
    worker: fc.constantFrom(...FIXTURES),
    body: fc.oneof({ weight: 4, arbitrary: bodyFor(route) as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyJson }),
  }),
);

const JSON_TYPES = ["application/json", "application/json; charset=utf-8", "Application/JSON", 'application/json;charset="UTF-8"', "application/json ; charset=utf8"];
const OTHER_TYPES = [
  "text/plain", "text/plain;charset=UTF-8", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
  "application/json; charset=latin1", "application/json; charset=utf-16", "application/jsonp", "application/problem+json",
  "application/octet-stream", "*/*", "json", "",
];
/** `true`: a JSON type; `false`: surely not one; `null`: a random header whose verdict the test does not guess. */
const contentType: fc.Arbitrary<{ value: string | null; json: boolean | null }> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...JSON_TYPES).map((value) => ({ value, json: true })) },
  { weight: 2, arbitrary: fc.constantFrom(...OTHER_TYPES).map((value) => ({ value, json: false })) },
  { weight: 1, arbitrary: fc.constant({ value: null, json: false }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme-ascii", maxLength: 40 }).map((value) => ({ value, json: null })) },
);

const framing: fc.Arbitrary<NonNullable<SendOptions["framing"]>> = fc.oneof(
  fc.constant({ kind: "fixed" as const }),
  fc.constant({ kind: "length" as const }),
  fc.array(fc.integer({ min: 1, max: 4096 }), { minLength: 1, maxLength: 8 }).map((sizes) => ({ kind: "chunks" as const, sizes })),
);

/** What a body is by construction, which decides its answer when the content type is JSON. */
type BodyKind = "too_large" | "invalid_utf8" | "duplicate" | "deep" | "not_json" | "json" | "empty";
interface BodyCase {
  kind: BodyKind;
  bytes: Uint8Array;
}

const jsonText = fc.jsonValue({ maxDepth: 2 }).map((value) => JSON.stringify(value));
const BAD_UTF8 = [[0xff], [0xfe], [0x80], [0xc0, 0xae], [0xc1, 0xbf], [0xed, 0xa0, 0x80], [0xe0, 0x80, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82]];
const key = fc.string({ unit: "grapheme-ascii", maxLength: 6 });

const bodyCase: fc.Arbitrary<BodyCase> = fc.oneof(
  fc.integer({ min: MAX_BODY + 1, max: MAX_BODY * 3 }).map((size) => {
    const prefix = '{"kind":"user","content":"';
    return { kind: "too_large" as const, bytes: encoder.encode(prefix + "x".repeat(size - prefix.length - 2) + '"}') };
  }),
  fc.tuple(jsonText, fc.nat(), fc.constantFrom(...BAD_UTF8)).map(([json, at, bad]) => {
    const bytes = encoder.encode(json);
    const cut = at % (bytes.length + 1);
    const out = new Uint8Array([...bytes.subarray(0, cut), ...bad, ...bytes.subarray(cut)]);
    return { kind: "invalid_utf8" as const, bytes: out };
  }),
  fc
    .tuple(fc.uniqueArray(key, { minLength: 1, maxLength: 5 }), fc.array(anyJson, { minLength: 6, maxLength: 6 }), fc.nat(), fc.boolean(), fc.nat({ max: 3 }))
    .map(([keys, values, pick, escape, depth]) => {
      const repeated = keys[pick % keys.length]!;
      // The repeat may be spelled with an escape: `"\u0061"` is the key "a".
      const spelled =
        escape && repeated.length > 0
          ? `"\\u${repeated.charCodeAt(0).toString(16).padStart(4, "0")}${JSON.stringify(repeated.slice(1)).slice(1)}`
          : JSON.stringify(repeated);
      const members = keys.map((k, i) => `${JSON.stringify(k)}:${JSON.stringify(values[i])}`);
      members.splice(pick % (members.length + 1), 0, `${spelled}:${JSON.stringify(values[5])}`);
      let object = `{${members.join(",")}}`;
      for (let i = 0; i < depth; i++) object = i % 2 === 0 ? `{"intent":${object}}` : `[${object}]`;
      return { kind: "duplicate" as const, bytes: encoder.encode(object) };
    }),
  fc.tuple(fc.integer({ min: 65, max: 10_000 }), fc.constantFrom("array", "object", "mixed"), fc.boolean()).map(([depth, shape, wrapped]) => {
    const open = shape === "array" ? "[" : shape === "object" ? '{"a":' : '[{"a":';
    const close = shape === "array" ? "]" : shape === "object" ? "}" : "}]";
    const count = shape === "mixed" ? Math.ceil(depth / 2) : depth;
    const nested = `${open.repeat(count)}1${close.repeat(count)}`;
    const body = wrapped ? `{"kind":"user","content":"x","intent":${nested}}` : nested;
    return { kind: "deep" as const, bytes: encoder.encode(body) };
  }),
  fc
    .oneof(
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.tuple(jsonText, fc.nat()).map(([json, at]) => json.slice(0, at % Math.max(1, json.length))),
      fc.tuple(jsonText, fc.nat(), fc.constantFrom(",", "}", "]", '"', ":", "\\", "'", "NaN", "\u0000", "//", "\n")).map(
        ([json, at, junk]) => json.slice(0, at % (json.length + 1)) + junk + json.slice(at % (json.length + 1)),
      ),
      fc.constantFrom(" ", "\t\n", "\ufeff", "\ufeff{}", "{}{}", "[1,]", "{'a':1}", "01", "1e999999", "-", '"\\ud800"', '{"a":1}x'),
    )
    .map((body) => {
      const bytes = encoder.encode(body);
      let json = true;
      try {
        JSON.parse(fatalUtf8.decode(bytes));
      } catch {
        json = false;
      }
      return { kind: json ? ("json" as const) : ("not_json" as const), bytes };
    })
    .filter((c) => c.bytes.length > 0),
  anyJson.map((value) => ({ kind: "json" as const, bytes: encoder.encode(JSON.stringify(value)) })),
  fc.constant({ kind: "empty" as const, bytes: new Uint8Array(0) }),
);

// ---------------------------------------------------------------- HTTP properties

describe("HTTP fuzz (app.handle, fs store)", () => {
  test(
    "random JSON bodies on every POST route: a success of the route or a typed 4xx",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(jsonRequest, { minLength: 1, maxLength: 4 }), async (requests) => {
          await ensureFixtures();
          // Sent together: the properties must hold for concurrent requests too.
          const answers = await Promise.all(
            requests.map((request) => send("POST", routePath(request.route, request.worker), { body: JSON.stringify(request.body) })),
          );
          answers.forEach((sent, i) => {
            const { route, body } = requests[i]!;
            const code = judge(sent, routeSuccess(route));
            if (route === "create" && code === null) {
              const worker = JSON.parse(sent.text).worker;
              created.add(worker.worker_ref.worker_id);
              if (typeof body === "object" && body !== null && "worker_id" in body && body.worker_id !== worker.worker_ref.worker_id) {
                fail(sent, "created a worker under another id than requested");
              }
            }
            // A bad requested id gets its own code whatever else is wrong (SPEC §9).
            if (
              route === "create" &&
              typeof body === "object" &&
              body !== null &&
              !Array.isArray(body) &&
              Object.hasOwn(body, "worker_id") &&
              !isValidId((body as { worker_id: unknown }).worker_id) &&
              code !== "payload_too_large"
            ) {
              if (code !== "invalid_worker_id") fail(sent, "an invalid worker_id must fail invalid_worker_id");
            }
          });
        }),
        settings(150),
      );
      expectFilesContained();
      await expectStillServing();
    },
    TIMEOUT,
  );

  test(
    "bodies in every encoding: the code SPEC §10 names (413, 415, invalid_json) or a typed 4xx",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...ROUTES), fc.constantFrom(...FIXTURES), bodyCase, contentType, framing, async (route, worker, body, type, frame) => {
          await ensureFixtures();
          const sent = await send("POST", routePath(route, worker), { body: body.bytes, type: type.value, framing: frame });
          const code = judge(sent, routeSuccess(route));
          const optional = route === "create" || route === "stop" || route === "cancel" || route === "restore";
          if (body.kind === "too_large") {
            if (code !== "payload_too_large") fail(sent, "a body over max_body_bytes must be 413 payload_too_large");
          } else if (body.kind === "empty") {
            if (!optional && code !== "invalid_request") fail(sent, "a missing required body must be 400 invalid_request");
            if (code === "unsupported_media_type" || code === "invalid_json") fail(sent, "an empty body has no media type to refuse");
          } else if (type.json === false) {
            if (code !== "unsupported_media_type") fail(sent, "a non-JSON content type must be 415 unsupported_media_type");
          } else if (type.json === true && body.kind !== "json") {
            if (code !== "invalid_json") fail(sent, `a ${body.kind} body must be 400 invalid_json`);
          } else if (type.json === true && code === "invalid_json") {
            fail(sent, "a JSON body that parses, without repeats or deep nesting, is not invalid_json");
          }
        }),
        settings(300),
      );
      expectFilesContained();
      await expectStillServing();
    },
    TIMEOUT,
  );

  test(
    "random methods, path segments and query values: a success or a typed 4xx, no file outside the store",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom(...METHODS),
          fc.constantFrom(...PATHS),
          segment,
          segment,
          query,
          fc.option(fc.constantFrom("{}", '{"kind":"user","content":"x"}', '{"reason":"r"}'), { freq: 2 }),
          async (method, path, a, b, search, body) => {
            await ensureFixtures();
            let request: string;
            try {
              // The URL parser percent-encodes what it must and resolves dot segments, as any client does.
              request = new URL(`http://localhost${path(a, b)}${search}`).href.slice("http://localhost".length);
            } catch {
              return;
            }
            const sent = await send(method, request, method === "POST" && body !== null ? { body } : {});
            judge(sent);
          },
        ),
        settings(400),
      );
      await until(() => runtime.subscriberCount === 0, "cancelled event streams to free their subscriptions");
      expectFilesContained();
      await expectStillServing();
    },
    TIMEOUT,
  );

  test(
    "deep nesting, huge strings and duplicate keys, named cases on every POST route",
    async () => {
      await ensureFixtures();
      const deep = (n: number) => "[".repeat(n) + "]".repeat(n);
      for (const route of ROUTES) {
        const path = routePath(route, "w0");
        expectCode(await send("POST", path, { body: deep(10_000) }), 400, "invalid_json");
        expectCode(await send("POST", path, { body: '{"a":'.repeat(10_000) + "1" + "}".repeat(10_000) }), 400, "invalid_json");
        expectCode(await send("POST", path, { body: deep(100_000) }), 413, "payload_too_large");
        expectCode(await send("POST", path, { body: `{"reason":"${"x".repeat(MAX_BODY)}"}` }), 413, "payload_too_large");
        expectCode(await send("POST", path, { body: `{"reason":"${"x".repeat(MAX_BODY)}"}`, framing: { kind: "chunks", sizes: [1000] } }), 413, "payload_too_large");
        expectCode(await send("POST", path, { body: '{"reason":"a","reason":"b"}' }), 400, "invalid_json");
        expectCode(await send("POST", path, { body: '{"reason":"a","\\u0072eason":"b"}' }), 400, "invalid_json");
        expectCode(await send("POST", path, { body: new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x3a, 0x31, 0x7d]) }), 400, "invalid_json");
        expectCode(await send("POST", path, { body: "{}", type: "text/plain" }), 415, "unsupported_media_type");
        expectCode(await send("POST", path, { body: "{}", type: null }), 415, "unsupported_media_type");
      }
      expectFilesContained();
      await expectStillServing();
    },
    TIMEOUT,
  );

  test(
    "with a token: random Authorization headers are 401 and any Origin 403, typed",
    async () => {
      const token = "fuzz-token-0123456789";
      const guarded = createApp(runtime, { token });
      const header = fc.oneof(
        fc.string({ unit: "grapheme-ascii", maxLength: 40 }),
        fc.constantFrom("Bearer", "Bearer ", `Bearer ${token} `, `bearer ${token}`, `Bearer ${token.slice(0, -1)}`, `Basic ${token}`, `Bearer ${token}x`, `Bearer  ${token}`),
        fc.string({ unit: "grapheme-ascii", maxLength: 40 }).map((s) => `Bearer ${s}`),
      );
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("/v1/runtime", "/v1/workers", "/v1/workers/w0", "/v1/workers/w0/transcript", "/v1/events", "/openapi.json", "/nope"),
          fc.option(header),
          fc.option(fc.string({ unit: "grapheme-ascii", maxLength: 30 })),
          async (path, authorization, origin) => {
            const headers: Record<string, string> = {};
            if (authorization !== null) headers.authorization = authorization;
            if (origin !== null) headers.origin = origin;
            let sent: Sent;
            try {
              sent = await send("GET", path, { headers, target: guarded });
            } catch (error) {
              if (error instanceof TypeError) return; // a header value Request itself refuses
              throw error;
            }
            const code = judge(sent);
            if (origin !== null) {
              if (code !== "forbidden_origin") fail(sent, "a request with an Origin must be 403 forbidden_origin");
            } else if (!(authorization !== null && new RegExp(`^bearer +${token} *$`, "i").test(authorization.trim()))) {
              if (code !== "unauthorized") fail(sent, "a wrong or missing token must be 401 unauthorized");
            } else if (code === "unauthorized") {
              fail(sent, "the right token was refused");
            }
          },
        ),
        settings(150),
      );
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- over a real socket

interface RawAnswer {
  status: number;
  headers: Map<string, string>;
  body: string;
}

/** One request written as bytes on a fresh connection; the answer is read until the server closes. */
function rawRequest(port: number, bytes: Uint8Array): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, "127.0.0.1");
    const chunks: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error("no answer within 10 s"));
    }, 10_000);
    socket.on("data", (chunk: Buffer) => chunks.push(chunk));
    socket.on("error", () => undefined);
    socket.on("close", () => {
      clearTimeout(timer);
      const all = Buffer.concat(chunks);
      const end = all.indexOf("\r\n\r\n");
      if (end < 0) return reject(new Error(`no HTTP answer: ${JSON.stringify(all.toString("latin1").slice(0, 200))}`));
      const [statusLine, ...lines] = all.subarray(0, end).toString("latin1").split("\r\n");
      const headers = new Map<string, string>();
      for (const line of lines) {
        const colon = line.indexOf(":");
        headers.set(line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim());
      }
      let body: Buffer = all.subarray(end + 4);
      if (headers.get("transfer-encoding") === "chunked") body = dechunk(body);
      resolve({ status: Number(statusLine!.split(" ")[1]), headers, body: body.toString("utf8") });
    });
    socket.write(bytes);
  });
}

function dechunk(data: Buffer): Buffer {
  const parts: Buffer[] = [];
  let offset = 0;
  for (;;) {
    const line = data.indexOf("\r\n", offset);
    if (line < 0) break;
    const size = parseInt(data.subarray(offset, line).toString("latin1"), 16);
    if (!(size > 0)) break;
    parts.push(data.subarray(line + 2, line + 2 + size));
    offset = line + 2 + size + 2;
  }
  return Buffer.concat(parts);
}

const concat = (...parts: (string | Uint8Array)[]) => {
  const encoded = parts.map((part) => (typeof part === "string" ? encoder.encode(part) : part));
  const out = new Uint8Array(encoded.reduce((total, part) => total + part.length, 0));
  let offset = 0;
  for (const part of encoded) {
    out.set(part, offset);
    offset += part.length;
  }
  return out;
};

/**
 * Request-target bytes as a latin1 string (one char a byte): anything from 0x21 up, since the HTTP
 * parser itself answers control bytes and spaces (505), and at most 8 KiB, since it answers a
 * longer request line 431 — both before the app sees the request.
 */
const rawSegment: fc.Arbitrary<string> = fc.oneof(
  segment.map((s) => Buffer.from(s.replace(/[\u0000-\u0020\u007f]/g, ""), "utf8").toString("latin1").slice(0, 2048)),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0xff }).map((c) => String.fromCharCode(c)), maxLength: 24 }),
  fc.constantFrom("..", ".", "%2e%2e", "..\\", "\\..", "%c0%ae", "\xff\xfe", "\xc0\xae\xc0\xae", "\xed\xa0\x80", "w0"),
);
const rawHost = fc.oneof(
  fc.constantFrom("localhost", "127.0.0.1", "x", "db", "api", "a/b", "[::1]", "localhost:1", "a?b", "@", "%41"),
  fc.string({ unit: fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c)), maxLength: 20 }),
);

describe("HTTP fuzz over a real socket", () => {
  let listener: Listener;
  beforeAll(async () => {
    listener = await listen(app.fetch, { hostname: "127.0.0.1", port: 0, isLongLived });
  });
  afterAll(() => listener.stop(true));

  test(
    "raw targets, hosts and bodies (invalid UTF-8, raw duplicate keys, chunked, over the limit): typed answers",
    async () => {
      await fc.assert(
        fc.asyncProperty(
          fc.constantFrom("GET", "POST", "DELETE"),
          fc.oneof(
            fc.constantFrom(...ROUTES).map((route) => ({ route: route as Route | null, target: routePath(route, "w0") })),
            fc.tuple(fc.constantFrom("/v1/workers/", "/v1/workers/w0/", "/v1/", "/"), fc.array(rawSegment, { minLength: 1, maxLength: 3 })).map(([prefix, parts]) => ({
              route: null,
              target: prefix + parts.join("/"),
            })),
          ),
          fc.option(rawHost, { freq: 4 }),
          fc.boolean(),
          bodyCase.filter((body) => body.kind !== "too_large" || body.bytes.length < MAX_BODY + 4096),
          fc.boolean(),
          async (method, { route, target }, host, http10, body, chunked) => {
            // HTTP/1.1 without Host is the parser's 400 (RFC 9112 §3.2), before the app.
            const head: (string | Uint8Array)[] = [method, " ", Buffer.from(target, "latin1"), http10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n"];
            if (host !== null || !http10) head.push(`Host: ${host ?? "localhost"}\r\n`);
            head.push("Connection: close\r\n");
            let payload: Uint8Array = new Uint8Array(0);
            if (method === "POST") {
              head.push("Content-Type: application/json\r\n");
              if (chunked && !http10 && body.bytes.length > 0) {
                head.push("Transfer-Encoding: chunked\r\n");
                payload = concat(body.bytes.length.toString(16), "\r\n", body.bytes, "\r\n0\r\n\r\n");
              } else {
                head.push(`Content-Length: ${body.bytes.length}\r\n`);
                payload = body.bytes;
              }
            }
            const answer = await rawRequest(listener.port, concat(...head, "\r\n", payload));
            const sent: Sent = {
              method,
              url: `${target} (host ${JSON.stringify(host)}${http10 ? ", HTTP/1.0" : ""})`,
              status: answer.status,
              contentType: answer.headers.get("content-type") ?? null,
              text: answer.body,
            };
            noteCreated(answer.status, answer.body);
            const code = judge(sent, method === "POST" && route === "create" ? [201] : [200, 201, 202]);
            if (method === "POST" && route !== null) {
              // A known POST route, whatever the Host: the body decides.
              if (body.kind === "too_large" && code !== "payload_too_large") fail(sent, "413 expected");
              if ((body.kind === "invalid_utf8" || body.kind === "duplicate" || body.kind === "deep" || body.kind === "not_json") && code !== "invalid_json") {
                fail(sent, "invalid_json expected");
              }
            }
          },
        ),
        settings(80),
      );
      const health = await rawRequest(listener.port, encoder.encode("GET /healthz HTTP/1.0\r\n\r\n"));
      expect(health.status).toBe(200);
      const made = await fetch(`${listener.url}/v1/workers`, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
      expect(made.status).toBe(201);
      noteCreated(made.status, await made.text());
      expectFilesContained();
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- the library API

/** Values no HTTP request can carry: prototypes, symbols, bigints, NaN, boxed values, deep nesting. */
const anything = fc.anything({
  maxDepth: 3,
  withNullPrototype: true,
  withBigInt: true,
  withBoxedValues: true,
  withMap: true,
  withSet: true,
  withTypedArray: true,
  withSparseArray: true,
  withDate: true,
  withObjectString: true,
});
const deepValue = fc.integer({ min: 1, max: 10_000 }).map((depth) => {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
});
const libraryArg: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: anything },
  { weight: 2, arbitrary: segment },
  { weight: 2, arbitrary: fc.constantFrom<unknown>("w0", "s0", "nope", Symbol("s"), NaN, -0, Infinity, -1, 2 ** 53, 1.5, () => 1, Object.create(null), new Proxy({}, {})) },
  { weight: 2, arbitrary: fc.record({ runtime_id: fc.oneof(fc.constantFrom("rt-fuzz", "rt-other"), anything), worker_id: fc.oneof(fc.constantFrom("w0", "s0"), segment, anything) }, { requiredKeys: [] }) },
  { weight: 2, arbitrary: createBody },
  { weight: 2, arbitrary: inputBody },
  {
    weight: 2,
    arbitrary: fc.record(
      { start: libraryValue(), limit: libraryValue(), tail: libraryValue(), after: libraryValue(), worker_id: libraryValue(), status: libraryValue(), signal: libraryValue(), queue_limit: libraryValue() },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: deepValue },
);
function libraryValue(): fc.Arbitrary<unknown> {
  return fc.oneof(fc.constantFrom<unknown>(0, 1, 10, 256, 257, -1, 1.5, NaN, "1", "w0", "idle", null, undefined, 10n, Symbol("v")), anything, segment);
}

type LibraryCall = (a: unknown, b: unknown, c: unknown) => unknown;
const any = <T>(value: unknown) => value as T;
const LIBRARY: Record<string, LibraryCall> = {
  createWorker: (a) => runtime.createWorker(any(a)),
  getWorker: (a) => runtime.getWorker(any(a)),
  listWorkers: (a) => runtime.listWorkers(any(a)),
  sendInput: (a, b) => runtime.sendInput(any(a), any(b)),
  sendInputW0: (a) => runtime.sendInput("w0", any(a)),
  transcript: (a, b) => runtime.transcript(any(a), any(b)),
  transcriptW0: (a) => runtime.transcript("w0", any(a)),
  readEvents: (a, b) => runtime.readEvents(any(a), any(b)),
  listRuns: (a, b) => runtime.listRuns(any(a), any(b)),
  getRun: (a, b) => runtime.getRun(any(a), any(b)),
  waitRun: (a, b, c) => runtime.waitRun(any(a), any(b), typeof c === "number" ? Math.min(c, 1000) : any(c)),
  stopWorker: (a, b) => runtime.stopWorker(any(a), any(b)),
  cancelRun: (a, b) => runtime.cancelRun(any(a), any(b)),
  restoreWorker: (a) => runtime.restoreWorker(any(a)),
  deleteWorker: (a) => runtime.deleteWorker(any(a)),
  subscribe: (a) => runtime.subscribe(any(a)).close(),
};

describe("Runtime library API fuzz (fs store)", () => {
  test(
    "random arguments resolve or throw a RuntimeError with a 4xx code of SPEC §9, never a TypeError",
    async () => {
      await fc.assert(
        fc.asyncProperty(fc.constantFrom(...Object.keys(LIBRARY)), libraryArg, libraryArg, libraryArg, async (name, a, b, c) => {
          await ensureFixtures();
          let result: unknown;
          try {
            result = await LIBRARY[name]!(a, b, c);
          } catch (error) {
            if (!(error instanceof RuntimeError)) {
              throw new Error(`${name} threw ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`);
            }
            expect(ERROR_CODES).toContain(error.code);
            if (SPEC_4XX[error.code] === undefined) throw new Error(`${name} failed ${error.code} (${error.message}) for a caller's input`);
            expect(error.message.length).toBeGreaterThan(0);
            return;
          }
          if (name === "createWorker") created.add((result as { worker_ref: { worker_id: string } }).worker_ref.worker_id);
        }),
        settings(500),
      );
      expectFilesContained();
      await expectStillServing();
    },
    TIMEOUT,
  );

  test(
    "closing the runtime leaves only the created workers' directories, inside the data dir",
    async () => {
      // The fs store writes some files behind its journal: what is on disk once it closed is final.
      const ids = (await runtime.listWorkers({ limit: 500 })).workers.map((worker) => worker.worker_ref.worker_id);
      for (const id of ids) expect(created.has(id)).toBe(true);
      await runtime.close();
      expectFilesContained();
      const reopened = await Runtime.open({ store: new FsStore({ root, durability: "none" }), backends: builtinBackends, profiles: { slow: { backend: "echo", delay_ms: 5 } } });
      try {
        const again = (await reopened.listWorkers({ limit: 500 })).workers;
        expect(again.map((worker) => worker.worker_ref.worker_id).sort()).toEqual([...ids].sort());
        expect(again.filter((worker) => worker.status === "unavailable")).toEqual([]);
      } finally {
        await reopened.close();
      }
    },
    TIMEOUT,
  );
});

// ---------------------------------------------------------------- regressions found by fuzzing

describe("regressions found by fuzzing", () => {
  let memory: Runtime;
  let memoryApp: ReturnType<typeof createApp>;
  let listener: Listener;
  beforeAll(async () => {
    memory = await Runtime.open({ store: new MemoryStore(), backends: builtinBackends, runtime_id: "rt-regress" });
    memoryApp = createApp(memory);
    await memory.createWorker({ worker_id: "w" });
    listener = await listen(memoryApp.fetch, { hostname: "127.0.0.1", port: 0, isLongLived });
  });
  afterAll(async () => {
    await listener.stop(true);
    await memory.close();
  });

  test("a Host of under 4 characters (`Host: x`, `Host: api`) still routes every path", async () => {
    // Elysia's default assumed a host of at least 4 characters and cut the path at the wrong
    // "/": GET /v1/workers/w answered 405 and POST .../input 405 "POST is not allowed".
    for (const host of ["x", "db", "api", "a.bc", "localhost"]) {
      const worker = await memoryApp.handle(new Request(`http://${host}/v1/workers/w`));
      expect(worker.status).toBe(200);
      expect((await worker.json()).worker.worker_ref.worker_id).toBe("w");
      const transcript = await memoryApp.handle(new Request(`http://${host}/v1/workers/w/transcript?limit=1`));
      expect(transcript.status).toBe(200);
      const input = await memoryApp.handle(
        new Request(`http://${host}/v1/workers/w/input`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ kind: "system", content: "hi" }),
        }),
      );
      expect(input.status).toBe(202);
      const missing = await memoryApp.handle(new Request(`http://${host}/v1/workers/nope`));
      expect(missing.status).toBe(404);
      expect((await missing.json()).error.code).toBe("worker_not_found");
    }
  });

  test("over a socket: no Host (HTTP/1.0) or an unusable Host still routes every path", async () => {
    // Bun gives such a request a URL of only its path; the router then cut it wrongly and every
    // longer route answered 404 route_not_found ("no route /workers/w").
    for (const host of [null, "x", "a/b", "a?b", "@", "x/v1/runtime"]) {
      const head = (line: string) => encoder.encode(`${line}\r\n${host === null ? "" : `Host: ${host}\r\n`}Connection: close\r\n\r\n`);
      const worker = await rawRequest(listener.port, head("GET /v1/workers/w HTTP/1.0"));
      expect(worker.status).toBe(200);
      expect(JSON.parse(worker.body).worker.worker_ref.worker_id).toBe("w");
      const transcript = await rawRequest(listener.port, head(`GET /v1/workers/w/transcript?tail=1 HTTP/1.${host === null ? 0 : 1}`));
      expect(transcript.status).toBe(200);
      expect(JSON.parse(transcript.body).transcript.limit).toBe(1);
      const missing = await rawRequest(listener.port, head("GET /v1/workers/nope HTTP/1.0"));
      expect(missing.status).toBe(404);
      expect(JSON.parse(missing.body).error.code).toBe("worker_not_found");
    }
  });

  test("a body member named toString is 400 like any invalid body, not a 500 from building the validation message", async () => {
    // Elysia's validation message interpolates the value (`found: ${value}`); an object with its
    // own non-function toString cannot become a string, and the TypeError answered 500 internal.
    const bodies: [string, string, string, string][] = [
      ["/v1/workers/w/cancel", '{"reason":{"toString":null}}', "invalid_request", "reason: "],
      ["/v1/workers/nope/stop", '{"reason":{"toString":"x","valueOf":1}}', "invalid_request", "reason: "],
      ["/v1/workers/w/input", '{"kind":"user","content":{"toString":null}}', "invalid_request", "content: "],
      ["/v1/workers/w/input", '{"kind":"user","content":[{"\\u0074oString":1}]}', "invalid_request", "content: "],
      ["/v1/workers", '{"display_name":{"toString":[]}}', "invalid_request", "display_name: "],
      ["/v1/workers/w/restore", '{"toString":null}', "invalid_request", "toString: "],
      // A bad worker id still gets its own code whatever else is wrong (SPEC §9).
      ["/v1/workers", '{"worker_id":"..","display_name":{"toString":1}}', "invalid_worker_id", "worker_id"],
    ];
    for (const [path, raw, code, names] of bodies) {
      const error = errorOf(await call(memoryApp, "POST", path, { raw, headers: { "content-type": "application/json" } }), 400, code);
      expect(error.message).toContain(names);
    }
    // A string that merely contains the word is content like any other.
    const sent = await call(memoryApp, "POST", "/v1/workers/w/input", { json: { kind: "system", content: '{"toString":null}' } });
    expect(sent.status).toBe(202);
  });

  test("createWorker with a value that passes the schema but cannot be copied (a Proxy) is invalid_request", async () => {
    let caught: unknown;
    try {
      await memory.createWorker(new Proxy({}, {}));
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(RuntimeError);
    expect((caught as RuntimeError).code).toBe("invalid_request");
    expect((await memory.listWorkers()).workers.map((w) => w.worker_ref.worker_id)).toEqual(["w"]);
  });

  test("a page cursor that is not an id is invalid_request, not a TypeError", async () => {
    for (const after of [Object.create(null), Symbol("x"), 5, {}, [], "", "a/b"]) {
      for (const list of [() => memory.listWorkers({ after }), () => memory.listRuns("w", { after })]) {
        let caught: unknown;
        try {
          await list();
        } catch (error) {
          caught = error;
        }
        expect(caught).toBeInstanceOf(RuntimeError);
        expect((caught as RuntimeError).code).toBe("invalid_request");
      }
    }
    // A cursor that next_after hands out still pages.
    expect((await memory.listWorkers({ after: "a" })).workers.map((w) => w.worker_ref.worker_id)).toEqual(["w"]);
    errorOf(await call(memoryApp, "GET", "/v1/workers?after=%00"), 400, "invalid_request");
  });
});
