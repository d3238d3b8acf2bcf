import { Type, type Static } from "@sinclair/typebox";
import { RuntimeError } from "../core/errors.ts";
import type { Usage } from "../core/schema/run.ts";
import { BackendError, type BackendDefinition, type BackendEnvironment, type ExecutionBackend, type RunContext, type RunOutput } from "../core/ports/backend.ts";
import { environment } from "../platform/environment.ts";
import { messageOf } from "../shared/errors.ts";
import { SseEventTooLargeError, SseParser, type SseEvent } from "../shared/sse-parser.ts";

export const DEFAULT_MAX_HISTORY_ITEMS = 50;
/** How much of an error response body is read for its message. */
const ERROR_BODY_BYTES = 64 * 1024;
/** How much of a provider's error text goes into the run's error message. */
const ERROR_DETAIL_CHARS = 1_000;
/** A key shorter than this is not searched for in messages: redacting it would garble them. */
const MIN_REDACTED_KEY_LENGTH = 8;

/**
 * Bun's fetch fails a request that stays silent for 5 minutes; a local model evaluating a long
 * prompt on a CPU sends nothing for longer than that. The run's `timeout_s` is the deadline
 * instead. Other runtimes ignore the option.
 */
const NO_IDLE_TIMEOUT = { timeout: false } as RequestInit;

export const OpenAiSettings = Type.Object(
  {
    base_url: Type.String({ pattern: "^https?://[^\\s]+$", maxLength: 2_048 }),
    model: Type.String({ minLength: 1, maxLength: 512 }),
    api_key_env: Type.Optional(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$", maxLength: 256 })),
    system_prompt: Type.Optional(Type.String({ maxLength: 1_048_576 })),
    temperature: Type.Optional(Type.Number({ minimum: 0, maximum: 2 })),
    max_tokens: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000_000 })),
    max_history_items: Type.Optional(Type.Integer({ minimum: 0, maximum: 100_000 })),
    headers: Type.Optional(
      Type.Record(Type.String({ pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" }), Type.String({ maxLength: 8_192 }), {
        additionalProperties: false,
      }),
    ),
  },
  { additionalProperties: false },
);
export type OpenAiSettings = Static<typeof OpenAiSettings>;

type ChatMessage = { role: "system" | "user" | "assistant"; content: string };

/** What one `data:` frame of a Chat Completions stream may hold; every field is checked before use. */
interface StreamChunk {
  choices?: Array<{ index?: number; delta?: { content?: unknown }; finish_reason?: unknown }>;
  usage?: { prompt_tokens?: unknown; completion_tokens?: unknown } | null;
  error?: unknown;
}

/**
 * An OpenAI-compatible Chat Completions client (OpenAI, Ollama, llama.cpp server, vLLM, LM Studio,
 * OpenRouter…): one streaming request per run, over `fetch` with the run's abort signal, so cancel
 * and timeout close the connection.
 */
class OpenAiBackend implements ExecutionBackend {
  private readonly endpoint: string;
  private readonly maxHistoryItems: number;
  /** A private field: never enumerated, serialised or logged with the backend. */
  readonly #apiKey: string | null;

  constructor(
    profile: string,
    private readonly settings: OpenAiSettings,
    env: BackendEnvironment,
  ) {
    const base = settings.base_url.replace(/\/+$/, "");
    try {
      new URL(base);
    } catch {
      throw new RuntimeError("invalid_request", `invalid profile: profiles.${profile}.base_url: not a valid URL`);
    }
    this.endpoint = `${base}/chat/completions`;
    this.maxHistoryItems = settings.max_history_items ?? DEFAULT_MAX_HISTORY_ITEMS;
    const keyEnv = settings.api_key_env;
    if (keyEnv === undefined) {
      this.#apiKey = null;
    } else {
      const key = env[keyEnv]?.trim();
      if (!key) {
        throw new RuntimeError(
          "invalid_request",
          `invalid profile: profiles.${profile}.api_key_env: the environment variable ${keyEnv} is not set or empty`,
        );
      }
      this.#apiKey = key;
    }
  }

  async *run(context: RunContext): AsyncIterable<RunOutput> {
    const { signal } = context;
    const body = JSON.stringify({
      model: this.settings.model,
      messages: await this.messages(context),
      stream: true,
      stream_options: { include_usage: true },
      ...(this.settings.temperature === undefined ? {} : { temperature: this.settings.temperature }),
      ...(this.settings.max_tokens === undefined ? {} : { max_tokens: this.settings.max_tokens }),
    });
    if (signal.aborted) return;

    let response: Response;
    try {
      response = await fetch(this.endpoint, { method: "POST", headers: this.headers(), body, signal, ...NO_IDLE_TIMEOUT });
    } catch (error) {
      if (signal.aborted) return;
      throw new BackendError("network_error", this.redact(`could not reach the provider at ${this.endpoint}: ${messageOf(error)}`));
    }
    if (!response.ok) {
      const detail = await errorDetail(response, signal);
      if (signal.aborted) return;
      const status = `${response.status}${response.statusText ? ` ${response.statusText}` : ""}`;
      throw new BackendError("provider_error", this.redact(`the provider answered ${status}${detail ? `: ${detail}` : ""}`), {
        status: response.status,
      });
    }
    if (!response.body) throw new BackendError("malformed_stream", "the provider answered without a body");
    const contentType = response.headers.get("content-type") ?? "";
    if (contentType.includes("json")) {
      const detail = await errorDetail(response, signal);
      if (signal.aborted) return;
      throw new BackendError(
        "malformed_stream",
        this.redact(`the provider answered ${contentType}, not an event stream${detail ? `: ${detail}` : ""}`),
        { status: response.status },
      );
    }

    const reader = response.body.getReader();
    const decoder = new TextDecoder("utf-8");
    const parser = new SseParser();
    const state = { done: false, finished: false };
    try {
      while (!state.done) {
        let read: Awaited<ReturnType<typeof reader.read>>;
        try {
          read = await reader.read();
        } catch (error) {
          if (signal.aborted) return;
          throw new BackendError("network_error", this.redact(`the connection to the provider failed mid-stream: ${messageOf(error)}`));
        }
        const events = read.done ? [...this.parse(parser, decoder.decode()), ...parser.end()] : this.parse(parser, decoder.decode(read.value, { stream: true }));
        for (const event of events) {
          for (const output of this.interpret(event, state, response.status)) yield output;
          if (state.done) break;
        }
        if (read.done) break;
      }
      if (!state.done && !state.finished) {
        throw new BackendError(
          "malformed_stream",
          "the provider's stream ended before the response was complete (no finish_reason and no [DONE])",
        );
      }
    } finally {
      // After [DONE] the connection may still be open; after an abort the request must be closed.
      await reader.cancel().catch(() => {});
    }
  }

  private async messages(context: RunContext): Promise<ChatMessage[]> {
    const messages: ChatMessage[] = [];
    if (this.settings.system_prompt) messages.push({ role: "system", content: this.settings.system_prompt });
    if (this.maxHistoryItems > 0) {
      for (const entry of await context.history(this.maxHistoryItems)) {
        // A cut-off answer (cancelled, timed out, failed) was never given in full; the model should not build on it.
        if (entry.role === "assistant" && entry.partial) continue;
        messages.push({ role: entry.role, content: entry.content });
      }
    }
    messages.push({ role: "user", content: context.input });
    return messages;
  }

  private headers(): Headers {
    const headers = new Headers(this.settings.headers);
    headers.set("content-type", "application/json");
    headers.set("accept", "text/event-stream");
    if (this.#apiKey !== null) headers.set("authorization", `Bearer ${this.#apiKey}`);
    return headers;
  }

  private parse(parser: SseParser, text: string): SseEvent[] {
    try {
      return parser.feed(text);
    } catch (error) {
      if (error instanceof SseEventTooLargeError) throw new BackendError("malformed_stream", `the provider's ${error.message}`);
      throw error;
    }
  }

  /** The outputs of one event; marks `state.done` at `[DONE]` and `state.finished` at a finish_reason. */
  private *interpret(event: SseEvent, state: { done: boolean; finished: boolean }, status: number): Iterable<RunOutput> {
    const data = event.data.trim();
    if (data === "[DONE]") {
      state.done = true;
      return;
    }
    let chunk: StreamChunk;
    try {
      chunk = JSON.parse(data) as StreamChunk;
    } catch {
      throw new BackendError("malformed_stream", `the provider sent a data frame that is not JSON: ${snippet(data, 200)}`);
    }
    if (typeof chunk !== "object" || chunk === null) {
      throw new BackendError("malformed_stream", `the provider sent a data frame that is not an object: ${snippet(data, 200)}`);
    }
    if (chunk.error !== undefined && chunk.error !== null) {
      throw new BackendError("provider_error", this.redact(`the provider reported an error mid-stream: ${describeError(chunk.error, data)}`), {
        status,
      });
    }
    const choice = Array.isArray(chunk.choices) ? chunk.choices.find((c) => (c?.index ?? 0) === 0) : undefined;
    const content = choice?.delta?.content;
    if (typeof content === "string" && content.length > 0) yield { type: "delta", text: content };
    if (choice?.finish_reason !== undefined && choice.finish_reason !== null) state.finished = true;
    const usage = usageOf(chunk.usage);
    if (usage) yield { type: "usage", usage };
  }

  private redact(message: string): string {
    const key = this.#apiKey;
    return key !== null && key.length >= MIN_REDACTED_KEY_LENGTH ? message.split(key).join("[redacted]") : message;
  }
}

function usageOf(usage: StreamChunk["usage"]): Usage | null {
  if (typeof usage !== "object" || usage === null) return null;
  const result: Usage = {};
  if (isCount(usage.prompt_tokens)) result.input_tokens = usage.prompt_tokens;
  if (isCount(usage.completion_tokens)) result.output_tokens = usage.completion_tokens;
  return Object.keys(result).length > 0 ? result : null;
}

const isCount = (value: unknown): value is number => Number.isSafeInteger(value) && (value as number) >= 0;

/** The provider's own message from an error body (`{error: {message}}`, `{error: "..."}`, `{message}`), else the text. */
async function errorDetail(response: Response, signal: AbortSignal): Promise<string> {
  let text = "";
  try {
    text = await readBounded(response, ERROR_BODY_BYTES);
  } catch {
    return signal.aborted ? "" : "(the error body could not be read)";
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return snippet(text.trim(), ERROR_DETAIL_CHARS);
  }
  if (typeof parsed === "object" && parsed !== null) {
    const body = parsed as { error?: unknown; message?: unknown };
    if (body.error !== undefined) return snippet(describeError(body.error, text), ERROR_DETAIL_CHARS);
    if (typeof body.message === "string") return snippet(body.message, ERROR_DETAIL_CHARS);
  }
  return snippet(text.trim(), ERROR_DETAIL_CHARS);
}

function describeError(error: unknown, fallback: string): string {
  if (typeof error === "string") return error;
  if (typeof error === "object" && error !== null) {
    const message = (error as { message?: unknown }).message;
    if (typeof message === "string") return message;
  }
  return snippet(fallback, ERROR_DETAIL_CHARS);
}

async function readBounded(response: Response, limit: number): Promise<string> {
  if (!response.body) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.length;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
  const bytes = new Uint8Array(Math.min(size, limit));
  let offset = 0;
  for (const chunk of chunks) {
    const part = chunk.subarray(0, bytes.length - offset);
    bytes.set(part, offset);
    offset += part.length;
    if (offset === bytes.length) break;
  }
  return new TextDecoder("utf-8").decode(bytes);
}

function snippet(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max)}…`;
}

export const openaiBackend: BackendDefinition<OpenAiSettings> = {
  kind: "openai",
  settings: OpenAiSettings,
  create: (name, settings, env = environment()) => new OpenAiBackend(name, settings, env),
};
