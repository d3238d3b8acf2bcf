import { afterEach, describe, expect, test } from "bun:test";
import type { App } from "../../src/server/index.ts";
import { call, createWorker, errorOf, harness, until, type Harness } from "./helpers.ts";

interface Frame {
  id?: string;
  event?: string;
  data?: any;
  comment?: string;
}

/** Reads SSE frames off a response body, one at a time. */
class FrameReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";
  ended = false;

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  async next(): Promise<Frame | null> {
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        return parseFrame(text);
      }
      const { done, value } = await this.reader.read();
      if (done) {
        this.ended = true;
        return null;
      }
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  /** Frames until `stop` holds for one (included), skipping comments unless asked. */
  async until(stop: (frame: Frame) => boolean, keepComments = false): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (;;) {
      const frame = await this.next();
      if (!frame) throw new Error(`stream ended before the expected frame; got ${JSON.stringify(frames)}`);
      if (frame.comment !== undefined && !keepComments && !stop(frame)) continue;
      frames.push(frame);
      if (stop(frame)) return frames;
    }
  }

  /** Everything up to the end of the stream. */
  async rest(): Promise<Frame[]> {
    const frames: Frame[] = [];
    for (let frame = await this.next(); frame; frame = await this.next()) frames.push(frame);
    return frames;
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}

function parseFrame(text: string): Frame {
  const frame: Frame = {};
  for (const line of text.split("\n")) {
    if (line.startsWith(":")) frame.comment = line.slice(1).trim();
    else if (line.startsWith("id: ")) frame.id = line.slice(4);
    else if (line.startsWith("event: ")) frame.event = line.slice(7);
    else if (line.startsWith("data: ")) frame.data = JSON.parse(line.slice(6));
    else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
  }
  return frame;
}

async function open(app: App, query = "", headers: Record<string, string> = {}, signal?: AbortSignal) {
  const response = await app.handle(new Request(`http://localhost/v1/events/stream${query}`, { headers, signal }));
  return { response, frames: new FrameReader(response) };
}

let h: Harness;
afterEach(async () => {
  await h.close();
});

describe("event stream", () => {
  test("answers text/event-stream with no-cache and no buffering headers", async () => {
    h = await harness();
    const { response, frames } = await open(h.app);
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(response.headers.get("cache-control")).toBe("no-cache, no-transform");
    expect(response.headers.get("x-accel-buffering")).toBe("no");
    for (const name of response.headers.keys()) expect(name.startsWith("access-control-")).toBe(false);
    expect(await frames.next()).toEqual({ comment: "connected" });
    await frames.cancel();
  });

  test("replays stored events after ?after= with ids, then follows live", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "a" });
    await createWorker(h.app, { worker_id: "b" });
    const { frames } = await open(h.app, "?after=1");
    const replayed = await frames.until((f) => f.id === "3");
    expect(replayed.map((f) => [f.id, f.data.kind])).toEqual([
      ["2", "worker_created"],
      ["3", "worker_created"],
    ]);
    for (const frame of replayed) expect(frame.data.id).toBe(Number(frame.id));
    await createWorker(h.app, { worker_id: "c" });
    const [live] = await frames.until((f) => f.id === "4");
    expect(live!.data.worker_ref.worker_id).toBe("c");
    await frames.cancel();
  });

  test("Last-Event-ID resumes after that id and wins over ?after=", async () => {
    h = await harness();
    for (const id of ["a", "b", "c"]) await createWorker(h.app, { worker_id: id });
    const { frames } = await open(h.app, "?after=0", { "last-event-id": "3" });
    const [first] = await frames.until((f) => f.id !== undefined);
    expect(first!.id).toBe("4");
    expect(first!.data.worker_ref.worker_id).toBe("c");
    await frames.cancel();
    errorOf(await call(h.app, "GET", "/v1/events/stream", { headers: { "last-event-id": "x1" } }), 400, "invalid_request");
  });

  test("without a cursor the stream is live only", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "before" });
    const { frames } = await open(h.app);
    await createWorker(h.app, { worker_id: "after" });
    const [first] = await frames.until((f) => f.data !== undefined);
    expect(first!.data.worker_ref.worker_id).toBe("after");
    await frames.cancel();
  });

  test("?worker_id= filters to one worker's events", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "a" });
    await createWorker(h.app, { worker_id: "b" });
    const { frames } = await open(h.app, "?after=0&worker_id=b");
    await call(h.app, "POST", "/v1/workers/a/input", { json: { kind: "system", content: "x" } });
    await call(h.app, "POST", "/v1/workers/b/input", { json: { kind: "system", content: "y" } });
    const seen = await frames.until((f) => f.data?.kind === "worker_input_accepted");
    expect(seen.every((f) => f.data.worker_ref.worker_id === "b")).toBe(true);
    expect(seen.map((f) => f.data.kind)).toEqual(["worker_created", "worker_input_accepted"]);
    await frames.cancel();
    errorOf(await call(h.app, "GET", "/v1/events/stream?worker_id=..%2Fa"), 400, "invalid_worker_id");
  });

  test("run output deltas are ephemeral frames without an id", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w" });
    const { frames } = await open(h.app);
    await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "hello" } });
    const seen = await frames.until((f) => f.data?.kind === "run_completed");
    const delta = seen.find((f) => f.data.kind === "run_output_delta");
    expect(delta).toBeDefined();
    expect(delta!.id).toBeUndefined();
    expect(delta!.event).toBeUndefined();
    expect(delta!.data.id).toBeNull();
    expect(delta!.data.data).toEqual({ delta: "hello" });
    for (const frame of seen.filter((f) => f.data.kind !== "run_output_delta")) expect(frame.id).toBe(String(frame.data.id));
    await frames.cancel();
  });

  test("sends heartbeat comments every heartbeat_ms", async () => {
    h = await harness({ heartbeat_ms: 10 });
    const { frames } = await open(h.app);
    const seen = await frames.until((f) => f.comment === "heartbeat", true);
    expect(seen.at(-1)).toEqual({ comment: "heartbeat" });
    await frames.until((f) => f.comment === "heartbeat", true);
    await frames.cancel();
  });

  test("a pruned cursor is 410 cursor_expired before the stream starts", async () => {
    h = await harness({}, { max_retained_events: 3 });
    for (let i = 0; i < 5; i++) await createWorker(h.app);
    const expired = await call(h.app, "GET", "/v1/events/stream?after=0");
    errorOf(expired, 410, "cursor_expired");
    expect(h.runtime.subscriberCount).toBe(0);
    errorOf(await call(h.app, "GET", "/v1/events/stream", { headers: { "last-event-id": "1" } }), 410, "cursor_expired");
  });

  test("a consumer that never reads overflows: the subscription is freed, then overflow is sent and the stream ends", async () => {
    h = await harness({ sse_queue_limit: 3 });
    const { frames } = await open(h.app);
    expect(h.runtime.subscriberCount).toBe(1);
    for (let i = 0; i < 10; i++) await createWorker(h.app);
    // Freed while the client has read nothing: memory does not grow with a stalled client.
    expect(h.runtime.subscriberCount).toBe(0);
    const rest = await frames.rest();
    expect(rest[0]).toEqual({ comment: "connected" });
    const overflow = rest.at(-1)!;
    expect(overflow.event).toBe("overflow");
    expect(overflow.id).toBeUndefined();
    const delivered = rest.filter((f) => f.id !== undefined).map((f) => Number(f.id));
    expect(overflow.data).toEqual({ last_event_id: delivered.at(-1) ?? 1 });
    expect(frames.ended).toBe(true);
  });

  test("a client that resumes after an overflow loses nothing", async () => {
    h = await harness({ sse_queue_limit: 2 });
    const first = await open(h.app, "?after=0");
    for (let i = 0; i < 6; i++) await createWorker(h.app, { worker_id: `w${i}` });
    const before = await first.frames.rest();
    const overflow = before.at(-1)!;
    expect(overflow.event).toBe("overflow");
    const second = await open(h.app, `?after=${overflow.data.last_event_id}`);
    const after = await second.frames.until((f) => f.data?.worker_ref?.worker_id === "w5");
    const ids = [...before, ...after].filter((f) => f.id !== undefined).map((f) => Number(f.id));
    expect(ids).toEqual([1, 2, 3, 4, 5, 6, 7]);
    await second.frames.cancel();
  });

  test("cancelling the body frees the subscription at once", async () => {
    h = await harness();
    const { frames } = await open(h.app);
    expect(h.runtime.subscriberCount).toBe(1);
    await frames.cancel();
    expect(h.runtime.subscriberCount).toBe(0);
  });

  test("aborting the request frees the subscription at once, even with a read pending", async () => {
    h = await harness();
    const controller = new AbortController();
    const { frames } = await open(h.app, "", {}, controller.signal);
    await frames.next();
    const pending = frames.next();
    expect(h.runtime.subscriberCount).toBe(1);
    controller.abort();
    expect(h.runtime.subscriberCount).toBe(0);
    expect(await pending).toBeNull();
  });

  test("closing the runtime ends open streams after runtime_stopped", async () => {
    h = await harness();
    const { frames } = await open(h.app);
    await h.close();
    const rest = await frames.rest();
    expect(rest.at(-1)!.data.kind).toBe("runtime_stopped");
    expect(frames.ended).toBe(true);
    await until(() => h.runtime.subscriberCount === 0, "subscription freed");
  });

  test("HEAD answers the stream headers without subscribing", async () => {
    h = await harness();
    const response = await h.app.handle(new Request("http://localhost/v1/events/stream", { method: "HEAD" }));
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(h.runtime.subscriberCount).toBe(0);
  });
});
