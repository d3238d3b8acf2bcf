import type { Server } from "bun";

/** One request the fake provider received. */
export interface ProviderRequest {
  path: string;
  headers: Headers;
  body: any;
}

type Handler = (request: ProviderRequest, raw: Request, provider: FakeProvider) => Response | Promise<Response>;

/**
 * An OpenAI-compatible Chat Completions server on 127.0.0.1 whose answers the test scripts.
 * Records every request and every connection the client closed before the answer ended.
 */
export class FakeProvider {
  readonly requests: ProviderRequest[] = [];
  /** Requests whose client went away (request signal aborted) while the answer was still open. */
  disconnects = 0;
  private server: Server<unknown> | null = null;

  constructor(private handler: Handler) {}

  static start(handler: Handler): FakeProvider {
    const provider = new FakeProvider(handler);
    provider.server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      fetch: async (raw) => {
        const text = await raw.text();
        let body: unknown = text;
        try {
          body = JSON.parse(text);
        } catch {}
        const request = { path: new URL(raw.url).pathname, headers: raw.headers, body };
        provider.requests.push(request);
        raw.signal.addEventListener("abort", () => provider.disconnects++, { once: true });
        return provider.handler(request, raw, provider);
      },
    });
    return provider;
  }

  /** The `base_url` of a profile using this provider. */
  get baseUrl(): string {
    return `http://127.0.0.1:${this.server!.port}/v1`;
  }

  setHandler(handler: Handler): void {
    this.handler = handler;
  }

  async stop(): Promise<void> {
    await this.server?.stop(true);
    this.server = null;
  }
}

const encoder = new TextEncoder();

/** One `data:` frame of a streamed chat completion. */
export function chunkFrame(fields: { content?: string; finish?: string; usage?: { prompt_tokens: number; completion_tokens: number } }): string {
  const choices =
    fields.usage && fields.content === undefined && fields.finish === undefined
      ? []
      : [{ index: 0, delta: fields.content === undefined ? {} : { content: fields.content }, finish_reason: fields.finish ?? null }];
  const chunk: Record<string, unknown> = { id: "chatcmpl-1", object: "chat.completion.chunk", created: 1, model: "fake", choices };
  if (fields.usage) chunk.usage = fields.usage;
  return `data: ${JSON.stringify(chunk)}\n\n`;
}

/** A complete, well-formed stream answering `parts`, with usage and [DONE]. */
export function completionStream(parts: string[], usage = { prompt_tokens: 12, completion_tokens: parts.length }): string {
  return [
    `data: ${JSON.stringify({ choices: [{ index: 0, delta: { role: "assistant" }, finish_reason: null }] })}\n\n`,
    ...parts.map((content) => chunkFrame({ content })),
    chunkFrame({ finish: "stop" }),
    chunkFrame({ usage }),
    "data: [DONE]\n\n",
  ].join("");
}

/** Splits `bytes` into pieces of `size` bytes. */
export function splitEvery(bytes: Uint8Array, size: number): Uint8Array[] {
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; i += size) pieces.push(bytes.subarray(i, i + size));
  return pieces;
}

/** Splits `bytes` at pseudo-random places (reproducible per seed), pieces of 1..maxSize bytes. */
export function splitRandomly(bytes: Uint8Array, seed: number, maxSize = 9): Uint8Array[] {
  let state = seed >>> 0 || 1;
  const next = () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 0x1_0000_0000;
  };
  const pieces: Uint8Array[] = [];
  for (let i = 0; i < bytes.length; ) {
    const size = 1 + Math.floor(next() * maxSize);
    pieces.push(bytes.subarray(i, i + size));
    i += size;
  }
  return pieces;
}

export interface StreamOptions {
  status?: number;
  contentType?: string;
  /** Keep the answer open after the last piece until the client goes away. */
  hold?: boolean;
  /** Called when the client cancels the body stream (the connection closed). */
  onCancel?: () => void;
}

/**
 * An event-stream answer written piece by piece, each piece in its own write after a turn of the
 * event loop, so the client's reads see the splits (a test of the client's parser, not of timing).
 */
export function streamResponse(body: string | Uint8Array[], options: StreamOptions = {}): Response {
  const pieces = typeof body === "string" ? [encoder.encode(body)] : body;
  let index = 0;
  let release: (() => void) | null = null;
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (index < pieces.length) {
        controller.enqueue(pieces[index++]!);
        await new Promise((resolve) => setTimeout(resolve, 0));
        return;
      }
      if (options.hold) await new Promise<void>((resolve) => (release = resolve));
      controller.close();
    },
    cancel() {
      release?.();
      options.onCancel?.();
    },
  });
  return new Response(stream, {
    status: options.status ?? 200,
    headers: { "content-type": options.contentType ?? "text/event-stream", "cache-control": "no-cache" },
  });
}

export const bytesOf = (text: string): Uint8Array => encoder.encode(text);
