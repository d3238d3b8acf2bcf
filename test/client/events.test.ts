import { afterEach, describe, expect, test } from "bun:test";
import { createClient, type RuntimeEvent } from "../../src/client/index.ts";
import { clientError, frame, inProcess, range, sseResponse, storedIds, take, until, type InProcess } from "./helpers.ts";

let harness: InProcess | null = null;
afterEach(async () => {
  await harness?.close();
  harness = null;
});

describe("events(): reconnects lose and repeat no stored event", () => {
  test("overflow: a consumer that fell behind resumes after the last id it was given", async () => {
    harness = await inProcess({ sse_queue_limit: 4 });
    // Requests go straight to the app, so a consumer that stops reading stops the server's reads too.
    const client = createClient({ url: "http://localhost", fetch: harness.fetch });
    let lastYielded = 0;
    const opens: Array<{ after: number; lastYielded: number }> = [];
    const events = client.events({ after: 0, onOpen: ({ after }) => opens.push({ after, lastYielded }) });
    const seen: RuntimeEvent[] = [];
    const next = async () => {
      const result = await events.next();
      if (result.done) throw new Error("ended");
      if (result.value.id !== null) lastYielded = result.value.id;
      seen.push(result.value);
      return result.value;
    };
    expect((await next()).kind).toBe("runtime_started");
    // 30 events while the consumer reads nothing: far past the queue limit of 4.
    for (let i = 0; i < 30; i++) await harness.runtime.createWorker({ worker_id: `w${i}` });
    while (seen.at(-1)?.worker_ref?.worker_id !== "w29") await next();
    await events.return();

    expect(storedIds(seen)).toEqual(range(1, 31));
    expect(seen.slice(1).map((event) => event.worker_ref?.worker_id)).toEqual(range(0, 29).map((i) => `w${i}`));
    expect(opens.length).toBeGreaterThanOrEqual(2);
    expect(opens[0]).toEqual({ after: 0, lastYielded: 0 });
    for (const open of opens.slice(1)) expect(open.after).toBe(open.lastYielded);
  });

  test("connections cut mid-burst (mid-frame, cleanly and abruptly) resume with Last-Event-ID = the last id seen", async () => {
    harness = await inProcess();
    const app = harness.app;
    // The server closes the first two stream connections after a few frames, leaving a torn frame.
    const cuts = [5, 8];
    const lastEventIds: string[] = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      idleTimeout: 0,
      async fetch(request) {
        const response = await app.handle(request);
        if (!new URL(request.url).pathname.endsWith("/stream")) return response;
        lastEventIds.push(request.headers.get("last-event-id") ?? "");
        const cut = cuts.shift();
        return cut === undefined ? response : cutAfter(response, cut, false);
      },
    });
    try {
      // The third one fails on the client's side as a reset connection would: the body errors mid-frame.
      let streams = 0;
      const client = createClient({
        url: `http://127.0.0.1:${server.port}`,
        fetch: async (url, init) => {
          const response = await fetch(url, init);
          return url.includes("/stream") && ++streams === 3 ? cutAfter(response, 3, true) : response;
        },
      });
      let lastYielded = 0;
      const opens: Array<{ after: number; lastYielded: number }> = [];
      const events = client.events({ after: 0, onOpen: ({ after }) => opens.push({ after, lastYielded }) });
      const seen: RuntimeEvent[] = [];
      const consumer = (async () => {
        for await (const event of events) {
          seen.push(event);
          if (event.id !== null) lastYielded = event.id;
          if (event.kind === "worker_created" && event.worker_ref?.worker_id === "w39") return;
        }
      })();
      // The burst: 40 creations at once while the consumer follows.
      await Promise.all(range(0, 39).map((i) => harness!.runtime.createWorker({ worker_id: `w${i}` })));
      await consumer;

      expect(storedIds(seen)).toEqual(range(1, 41));
      expect(new Set(seen.map((event) => event.worker_ref?.worker_id).filter(Boolean)).size).toBe(40);
      expect(opens.length).toBe(4);
      expect(opens[0]).toEqual({ after: 0, lastYielded: 0 });
      for (const open of opens.slice(1)) {
        expect(open.after).toBe(open.lastYielded);
        expect(open.after).toBeGreaterThan(0);
      }
      expect(lastEventIds).toEqual(opens.map((open) => String(open.after)));
    } finally {
      await server.stop(true);
    }
  });

  test("deltas (id null) are yielded between stored events and leave the cursor alone", async () => {
    harness = await inProcess();
    const client = createClient({ url: "http://localhost", fetch: harness.fetch });
    const worker = await harness.runtime.createWorker({ worker_id: "d" });
    const events = client.events({ worker_id: "d", after: 0 });
    const first = await take(events, (event) => event.kind === "worker_created");
    await harness.runtime.sendInput(worker.worker_ref, { kind: "user", content: "hello" });
    const run = await take(events, (event) => event.kind === "run_completed");
    await events.return();
    expect(first.map((event) => event.kind)).toEqual(["worker_created"]);
    expect(run.map((event) => event.kind)).toEqual(["worker_input_accepted", "run_started", "run_output_delta", "run_completed"]);
    const delta = run[2]!;
    expect(delta.id).toBeNull();
    expect(delta.data).toEqual({ delta: "hello" });
    expect(run[3]!.id).toBe(run[1]!.id! + 1);
  });
});

describe("events(): where the iteration starts", () => {
  test("without `after` it starts now: earlier events are not replayed, later ones arrive", async () => {
    harness = await inProcess();
    await harness.runtime.createWorker({ worker_id: "before" });
    const client = createClient({ url: "http://localhost", fetch: harness.fetch });
    let opened = false;
    const events = client.events({ onOpen: () => (opened = true) });
    const pending = events.next();
    await until(() => opened, "the stream to open");
    await harness.runtime.createWorker({ worker_id: "after" });
    const result = await pending;
    await events.return();
    expect(result.value?.kind).toBe("worker_created");
    expect(result.value?.worker_ref?.worker_id).toBe("after");
  });

  test("worker_id filters the stream", async () => {
    harness = await inProcess();
    const client = createClient({ url: "http://localhost", fetch: harness.fetch });
    await harness.runtime.createWorker({ worker_id: "a" });
    await harness.runtime.createWorker({ worker_id: "b" });
    await harness.runtime.createWorker({ worker_id: "a2" });
    const events = client.events({ after: 0, worker_id: "b" });
    const first = await events.next();
    await events.return();
    expect(first.value?.worker_ref?.worker_id).toBe("b");
  });
});

describe("events(): failures are typed errors carrying the runtime's {code, message}", () => {
  test("410 cursor_expired when the cursor was pruned", async () => {
    harness = await inProcess({}, { max_retained_events: 10 });
    for (let i = 0; i < 40; i++) await harness.runtime.createWorker({});
    const client = createClient({ url: "http://localhost", fetch: harness.fetch });
    const error = await clientError(client.events({ after: 0 }).next());
    expect(error.code).toBe("cursor_expired");
    expect(error.status).toBe(410);
    expect(error.message).toContain("pruned");
  });

  test("401 unauthorized without the token (stream and the `from now` lookup); fine with it", async () => {
    harness = await inProcess({ token: "s3cret-token" });
    const anonymous = createClient({ url: "http://localhost", fetch: harness.fetch });
    for (const options of [{ after: 0 }, {}]) {
      const error = await clientError(anonymous.events(options).next());
      expect(error.code).toBe("unauthorized");
      expect(error.status).toBe(401);
    }
    const client = createClient({ url: "http://localhost", fetch: harness.fetch, token: "s3cret-token" });
    const events = client.events({ after: 0 });
    expect((await events.next()).value?.kind).toBe("runtime_started");
    await events.return();
  });

  test("event: stream_error ends the iteration with its error; comments and other fields are ignored", async () => {
    const client = createClient({
      url: "http://localhost",
      fetch: async () =>
        sseResponse([
          ": connected\r\n\r\n",
          "retry: 10\n",
          frame(1, "runtime_started").replace(/\n/g, "\r\n"),
          ": heartbeat\n\n",
          'event: stream_error\ndata: {"error":{"code":"store_io","message":"the disk',
          ' went away","details":{"path":"x"}}}\n\n',
        ], { hold: true }),
    });
    const events = client.events({ after: 0 });
    expect((await events.next()).value?.id).toBe(1);
    const error = await clientError(events.next());
    expect({ code: error.code, message: error.message, status: error.status, details: error.details }).toEqual({
      code: "store_io",
      message: "the disk went away",
      status: 200,
      details: { path: "x" },
    });
  });

  test("a 5xx (runtime restarting) is retried; an unreachable runtime fails connection_failed after `retries`", async () => {
    let calls = 0;
    const flaky = createClient({
      url: "http://localhost",
      fetch: async (_url, init) => {
        if (++calls === 1) {
          return Response.json({ error: { code: "runtime_unavailable", message: "closing" } }, { status: 503 });
        }
        return sseResponse([": connected\n\n", frame(7, "worker_created")], { hold: true, signal: init.signal });
      },
    });
    const events = flaky.events({ after: 6, retries: 2 });
    expect((await events.next()).value?.id).toBe(7);
    await events.return();
    expect(calls).toBe(2);

    let attempts = 0;
    const down = createClient({
      url: "http://user:pw@127.0.0.1:9",
      fetch: async () => {
        attempts++;
        throw new TypeError("fetch failed", { cause: new Error("connect ECONNREFUSED") });
      },
    });
    const error = await clientError(down.events({ after: 0, retries: 1 }).next());
    expect(error.code).toBe("connection_failed");
    expect(error.status).toBeNull();
    expect(error.message).toBe("cannot connect to http://127.0.0.1:9: connection refused");
    expect(attempts).toBe(2);
  });
});

describe("events(): a silent connection is given up", () => {
  test("no byte (not even a heartbeat) for idle_timeout_ms: it reconnects after the last id", async () => {
    const calls: Array<{ lastEventId: string | null; signal: AbortSignal }> = [];
    const client = createClient({
      url: "http://localhost",
      fetch: async (_url, init) => {
        const headers = new Headers(init.headers);
        calls.push({ lastEventId: headers.get("last-event-id"), signal: init.signal! });
        // The first connection delivers one event, then goes silent; the second one works.
        const frames = calls.length === 1 ? [": connected\n\n", frame(3, "worker_created")] : [": connected\n\n", frame(4, "worker_deleted")];
        return sseResponse(frames, { hold: true, signal: init.signal });
      },
    });
    const events = client.events({ after: 2, idle_timeout_ms: 50 });
    expect((await events.next()).value?.id).toBe(3);
    expect((await events.next()).value?.id).toBe(4);
    await events.return();
    expect(calls.map((call) => call.lastEventId)).toEqual(["2", "3"]);
    expect(calls[0]!.signal.aborted).toBe(true);
  });
});

describe("events(): ending the iteration closes the connection", () => {
  test("break (return) and the abort signal both end it without an error", async () => {
    const signals: AbortSignal[] = [];
    const client = createClient({
      url: "http://localhost",
      fetch: async (_url, init) => {
        signals.push(init.signal!);
        return sseResponse([": connected\n\n", frame(1, "runtime_started")], { hold: true, signal: init.signal });
      },
    });
    for await (const event of client.events({ after: 0 })) {
      expect(event.id).toBe(1);
      break;
    }
    expect(signals).toHaveLength(1);
    expect(signals[0]!.aborted).toBe(true);

    const stop = new AbortController();
    const events = client.events({ after: 0, signal: stop.signal });
    expect((await events.next()).value?.id).toBe(1);
    const pending = events.next();
    stop.abort();
    expect(await pending).toEqual({ value: undefined, done: true });
    expect(signals).toHaveLength(2);
    expect(signals[1]!.aborted).toBe(true);
  });
});

/** Passes `frames` SSE frames of a response, then a torn frame, then ends the body (or errors it). */
function cutAfter(response: Response, frames: number, abrupt: boolean): Response {
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  let seen = 0;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const { done, value } = await reader.read();
      if (done) return controller.close();
      const text = decoder.decode(value, { stream: true });
      let end = -1;
      for (let at = text.indexOf("\n\n"); at >= 0; at = text.indexOf("\n\n", at + 2)) {
        if (++seen === frames) {
          end = at + 2;
          break;
        }
      }
      if (end < 0) return controller.enqueue(value);
      // What a connection lost in the middle of a frame leaves behind: never dispatched.
      controller.enqueue(encoder.encode(`${text.slice(0, end)}id: 999999\ndata: {"id":999999,"kind":"run_sta`));
      await reader.cancel();
      if (abrupt) controller.error(new Error("connection lost"));
      else controller.close();
    },
    cancel: () => reader.cancel(),
  });
  return new Response(body, { status: response.status, headers: response.headers });
}
