import { afterAll, afterEach, describe, expect, test } from "bun:test";
import { createClient, RuntimeClientError, unwrap } from "../../src/client/index.ts";
import { cleanScratch, runCli } from "../cli/helpers.ts";
import { inProcess, type InProcess } from "./helpers.ts";

/** The typed client sends an Idempotency-Key on every POST and retries once when the outcome is unknown. */

interface Seen {
  method: string;
  url: string;
  key: string | null;
  body: string | null;
}

const unknownOutcome = () =>
  Response.json(
    { error: { code: "runtime_unavailable", message: "the store could not sync", details: { cause: "io_error", outcome: "unknown" } } },
    { status: 503, headers: { "retry-after": "0" } },
  );

let harness: InProcess | null = null;
afterEach(async () => {
  await harness?.close();
  harness = null;
});
afterAll(() => cleanScratch());

/** A fetch that records each request and answers from `script` (by attempt number), else from the app. */
function scripted(app: InProcess, script: Array<((seen: Seen) => Response | Promise<Response> | "app" | "drop") | undefined>) {
  const seen: Seen[] = [];
  const fetch = async (input: string, init: RequestInit) => {
    const headers = new Headers(init.headers);
    const entry = { method: init.method ?? "GET", url: input, key: headers.get("idempotency-key"), body: typeof init.body === "string" ? init.body : null };
    seen.push(entry);
    const step = script[seen.length - 1]?.(entry) ?? "app";
    if (step === "app") return app.fetch(input, init);
    if (step === "drop") {
      // The runtime applied the request, but its answer never arrived.
      await app.fetch(input, init);
      throw new TypeError("fetch failed: connection reset");
    }
    return step;
  };
  return { seen, fetch };
}

describe("client safe retries", () => {
  test("every POST carries a fresh key; GETs carry none", async () => {
    harness = await inProcess();
    const { seen, fetch } = scripted(harness, []);
    const client = createClient({ url: "http://localhost", fetch });
    await unwrap(client.v1.workers.post({ worker_id: "a" }));
    await unwrap(client.v1.workers.post({ worker_id: "b" }));
    await unwrap(client.v1.workers({ worker_id: "a" }).restore.post());
    await unwrap(client.v1.workers.get());
    const posts = seen.filter((s) => s.method === "POST");
    expect(posts).toHaveLength(3);
    for (const post of posts) expect(post.key).toMatch(/^[\x21-\x7E]{1,255}$/);
    expect(new Set(posts.map((p) => p.key)).size).toBe(3);
    expect(seen.find((s) => s.method === "GET")!.key).toBeNull();
  });

  test("a 503 with outcome unknown is retried once with the same key and body; the write is applied once", async () => {
    harness = await inProcess();
    // The first attempt reaches the runtime (it is applied), but its answer is replaced by a 503 "unknown".
    const { seen, fetch } = scripted(harness, [
      async (s) => {
        await harness!.fetch(s.url, { method: "POST", headers: { "content-type": "application/json", "idempotency-key": s.key! }, body: s.body });
        return unknownOutcome();
      },
    ]);
    const client = createClient({ url: "http://localhost", fetch });
    const { worker } = await unwrap(client.v1.workers.post({ display_name: "once" }));
    expect(seen).toHaveLength(2);
    expect(seen[1]!.key).toBe(seen[0]!.key);
    expect(seen[1]!.body).toBe(seen[0]!.body);
    const { workers } = await harness.runtime.listWorkers();
    expect(workers.map((w) => w.worker_ref.worker_id)).toEqual([worker.worker_ref.worker_id]);
  });

  test("a lost answer (connection failed) is retried once with the same key: one input, the first ack", async () => {
    harness = await inProcess();
    await harness.runtime.createWorker({ worker_id: "w" });
    const { seen, fetch } = scripted(harness, ["drop" as never].map((d) => () => d));
    const client = createClient({ url: "http://localhost", fetch });
    const { ack } = await unwrap(client.v1.workers({ worker_id: "w" }).input.post({ kind: "system", content: "hello" }));
    expect(seen).toHaveLength(2);
    expect(seen[1]!.key).toBe(seen[0]!.key);
    expect(ack.transcript_sequence).toBe(0);
    expect((await harness.runtime.transcript("w")).total_items).toBe(1);
  });

  test("only once: a second unknown outcome is the answer; other 503s and errors are not retried", async () => {
    harness = await inProcess();
    const twice = scripted(harness, [unknownOutcome, unknownOutcome, unknownOutcome]);
    const client = createClient({ url: "http://localhost", fetch: twice.fetch });
    const failure = await unwrap(client.v1.workers.post({})).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RuntimeClientError);
    expect((failure as RuntimeClientError).code).toBe("runtime_unavailable");
    expect(twice.seen).toHaveLength(2);

    const plain = scripted(harness, [() => Response.json({ error: { code: "runtime_unavailable", message: "closing" } }, { status: 503 })]);
    const other = createClient({ url: "http://localhost", fetch: plain.fetch });
    await unwrap(other.v1.workers.post({})).catch(() => undefined);
    expect(plain.seen).toHaveLength(1);

    const down = scripted(harness, [() => Promise.reject(new TypeError("refused")), () => Promise.reject(new TypeError("refused"))]);
    const unreachable = createClient({ url: "http://localhost", fetch: down.fetch });
    const refused = await unwrap(unreachable.v1.workers.post({})).catch((error: unknown) => error);
    expect((refused as RuntimeClientError).code).toBe("connection_failed");
    expect(down.seen).toHaveLength(2);
    expect(down.seen[1]!.key).toBe(down.seen[0]!.key);
  });

  test("a key the caller set is kept", async () => {
    harness = await inProcess();
    const { seen, fetch } = scripted(harness, []);
    const client = createClient({ url: "http://localhost", fetch });
    await unwrap(client.v1.workers.post({}, { headers: { "idempotency-key": "mine-1" } }));
    expect(seen[0]!.key).toBe("mine-1");
  });
});

describe("CLI", () => {
  test("a POSTing command sends an Idempotency-Key", async () => {
    const keys: Array<string | null> = [];
    const server = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch(request) {
        keys.push(request.headers.get("idempotency-key"));
        return Response.json({ error: { code: "worker_not_found", message: "worker w does not exist" } }, { status: 404 });
      },
    });
    try {
      const result = await runCli(["workers", "restore", "w", "--url", `http://127.0.0.1:${server.port}`]);
      expect(result.code).not.toBe(0);
      expect(result.stderr).toContain("does not exist");
      expect(keys).toHaveLength(1);
      expect(keys[0]).toMatch(/^[\x21-\x7E]{1,255}$/);
    } finally {
      server.stop(true);
    }
  });
});
