import { afterEach, describe, expect, test } from "bun:test";
import { KeySet } from "../../src/server/key-set.ts";
import { createTokenVerifier } from "../../src/server/token-verifier.ts";
import { call, createWorker, errorOf, harness, type Harness } from "./helpers.ts";
import { jwksText, makeKey, sign } from "./token-helpers.ts";

/** Safe retries over HTTP (SPEC §10): every POST takes Idempotency-Key. */

let h: Harness;
afterEach(async () => {
  await h?.close();
});

const K = (key: string, extra: Record<string, string> = {}) => ({ "idempotency-key": key, ...extra });

async function eventCount(): Promise<number> {
  return (await call(h.app, "GET", "/v1/events?limit=256")).body.events.events.length;
}

describe("Idempotency-Key over HTTP", () => {
  test("a retried create answers the same 201 and body; one worker exists", async () => {
    h = await harness();
    const first = await call(h.app, "POST", "/v1/workers", { json: { display_name: "x" }, headers: K("create-1") });
    expect(first.status).toBe(201);
    const events = await eventCount();
    const again = await call(h.app, "POST", "/v1/workers", { json: { display_name: "x" }, headers: K("create-1") });
    expect(again.status).toBe(201);
    expect(again.text).toBe(first.text);
    expect((await call(h.app, "GET", "/v1/workers")).body.workers).toHaveLength(1);
    expect(await eventCount()).toBe(events);
    // No body and `{}` are the same request.
    const empty = await call(h.app, "POST", "/v1/workers", { headers: K("create-2") });
    expect(empty.status).toBe(201);
    const braces = await call(h.app, "POST", "/v1/workers", { json: {}, headers: K("create-2") });
    expect(braces.text).toBe(empty.text);
  });

  test("a retried input answers the same 202 ack: no new transcript entry, run or event", async () => {
    h = await harness();
    const id = await createWorker(h.app, { worker_id: "w" });
    const first = await call(h.app, "POST", `/v1/workers/${id}/input`, { json: { kind: "user", content: "hi" }, headers: K("in-1") });
    expect(first.status).toBe(202);
    const waited = await call(h.app, "GET", `/v1/workers/${id}/runs/${first.body.ack.run_id}?wait=20`);
    expect(waited.body.run.status).toBe("completed");
    const events = await eventCount();
    const again = await call(h.app, "POST", `/v1/workers/${id}/input`, { json: { content: "hi", kind: "user" }, headers: K("in-1") });
    expect(again.status).toBe(202);
    expect(again.body).toEqual(first.body);
    expect((await call(h.app, "GET", `/v1/workers/${id}/transcript`)).body.transcript.total_items).toBe(2);
    expect((await call(h.app, "GET", `/v1/workers/${id}/runs`)).body.runs).toHaveLength(1);
    expect(await eventCount()).toBe(events);
  });

  test("?wait is not part of the request: a replay with ?wait waits for the kept run", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "slow" } });
    const first = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "a" }, headers: K("wait-1") });
    expect(first.status).toBe(202);
    const replay = await call(h.app, "POST", "/v1/workers/w/input?wait=20", { json: { kind: "user", content: "a" }, headers: K("wait-1") });
    expect(replay.status).toBe(200);
    expect(replay.body.ack).toEqual(first.body.ack);
    expect(replay.body.run.run_id).toBe(first.body.ack.run_id);
    expect(replay.body.run.status).toBe("completed");
    expect((await call(h.app, "GET", "/v1/workers/w/runs")).body.runs).toHaveLength(1);
  });

  test("the same key with another body or route answers 422 idempotency_key_reused", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w" });
    await createWorker(h.app, { worker_id: "v" });
    const ok = await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "system", content: "a" }, headers: K("k") });
    expect(ok.status).toBe(202);
    errorOf(await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "system", content: "b" }, headers: K("k") }), 422, "idempotency_key_reused");
    errorOf(await call(h.app, "POST", "/v1/workers/v/input", { json: { kind: "system", content: "a" }, headers: K("k") }), 422, "idempotency_key_reused");
    errorOf(await call(h.app, "POST", "/v1/workers/w/stop", { headers: K("k") }), 422, "idempotency_key_reused");
    errorOf(await call(h.app, "POST", "/v1/workers", { headers: K("k") }), 422, "idempotency_key_reused");
    expect((await call(h.app, "GET", "/v1/workers/w")).body.worker.status).toBe("idle");
    expect((await call(h.app, "GET", "/v1/workers/w/transcript")).body.transcript.total_items).toBe(1);
  });

  test("an invalid header is 400 invalid_request naming the header; nothing is applied", async () => {
    h = await harness();
    for (const bad of ["has space", "x".repeat(256), "a,b c", "\u00e9t\u00e9"]) {
      let result;
      try {
        result = await call(h.app, "POST", "/v1/workers", { json: {}, headers: K(bad) });
      } catch {
        continue; // a header value the Request constructor itself refuses never reaches the server
      }
      const error = errorOf(result, 400, "invalid_request");
      expect(error.message).toContain("Idempotency-Key");
      expect(error.details?.header).toBe("Idempotency-Key");
    }
    // An empty value is a present, invalid header.
    const response = await h.app.handle(
      new Request("http://localhost/v1/workers", { method: "POST", headers: { "idempotency-key": "", "content-type": "application/json" }, body: "{}" }),
    );
    expect(response.status).toBe(400);
    expect((await call(h.app, "GET", "/v1/workers")).body.workers).toHaveLength(0);
    expect((await call(h.app, "POST", "/v1/workers", { json: {}, headers: K("x".repeat(255)) })).status).toBe(201);
  });

  test("errors are not kept: a retry after one runs again", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w" });
    await call(h.app, "POST", "/v1/workers/w/stop");
    const input = { json: { kind: "system", content: "x" }, headers: K("retry") };
    errorOf(await call(h.app, "POST", "/v1/workers/w/input", input), 409, "worker_stopped");
    expect((await call(h.app, "POST", "/v1/workers/w/restore")).status).toBe(200);
    const ok = await call(h.app, "POST", "/v1/workers/w/input", input);
    expect(ok.status).toBe(202);
    expect(ok.body.ack.transcript_sequence).toBe(0);
  });

  test("stop, cancel and restore replay their first answer", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w", profile: { kind: "named", value: "stuck" } });
    await call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "user", content: "go" } });
    const cancel = await call(h.app, "POST", "/v1/workers/w/cancel", { json: { reason: "r" }, headers: K("c") });
    expect(cancel.status).toBe(200);
    expect(cancel.body.ack.cancelled_run_id).not.toBeNull();
    expect((await call(h.app, "POST", "/v1/workers/w/cancel", { json: { reason: "r" }, headers: K("c") })).body).toEqual(cancel.body);
    const stop = await call(h.app, "POST", "/v1/workers/w/stop", { headers: K("s") });
    const restore = await call(h.app, "POST", "/v1/workers/w/restore", { headers: K("r") });
    expect(restore.body.ack.status).toBe("idle");
    expect((await call(h.app, "POST", "/v1/workers/w/stop", { json: {}, headers: K("s") })).body).toEqual(stop.body);
    expect((await call(h.app, "GET", "/v1/workers/w")).body.worker.status).toBe("idle");
  });

  test("concurrent requests with one key answer the same; the operation runs once", async () => {
    h = await harness();
    await createWorker(h.app, { worker_id: "w" });
    const send = () => call(h.app, "POST", "/v1/workers/w/input", { json: { kind: "system", content: "once" }, headers: K("same") });
    const results = await Promise.all([send(), send(), send(), send()]);
    for (const result of results) {
      expect(result.status).toBe(202);
      expect(result.body).toEqual(results[0]!.body);
    }
    expect((await call(h.app, "GET", "/v1/workers/w/transcript")).body.transcript.total_items).toBe(1);
  });

  test("a deleted worker's create key still replays its 201", async () => {
    h = await harness();
    const created = await call(h.app, "POST", "/v1/workers", { json: { worker_id: "gone" }, headers: K("mk") });
    expect((await call(h.app, "DELETE", "/v1/workers/gone")).status).toBe(200);
    const again = await call(h.app, "POST", "/v1/workers", { json: { worker_id: "gone" }, headers: K("mk") });
    expect(again.status).toBe(201);
    expect(again.text).toBe(created.text);
    errorOf(await call(h.app, "GET", "/v1/workers/gone"), 404, "worker_not_found");
  });

  test("keys are scoped by signed-token subject: another subject's key is another key", async () => {
    const key = await makeKey("k1");
    const verifier = createTokenVerifier({ keys: KeySet.fromText(jwksText(key)), audience: "rt-test", max_token_lifetime_s: 3600, clock_skew_s: 30 });
    h = await harness({ token: "static-token", verifier });
    const as = async (sub: string) => ({
      authorization: `Bearer ${await sign(key, { aud: "rt-test", scope: "workers:read workers:write runs:write", extra: { sub } })}`,
    });
    const alice = await as("alice");
    const bob = await as("bob");
    const a = await call(h.app, "POST", "/v1/workers", { json: { display_name: "a" }, headers: { ...alice, ...K("shared") } });
    expect(a.status).toBe(201);
    const b = await call(h.app, "POST", "/v1/workers", { json: { display_name: "a" }, headers: { ...bob, ...K("shared") } });
    expect(b.status).toBe(201);
    expect(b.body.worker.worker_ref.worker_id).not.toBe(a.body.worker.worker_ref.worker_id);
    const a2 = await call(h.app, "POST", "/v1/workers", { json: { display_name: "a" }, headers: { ...alice, ...K("shared") } });
    expect(a2.text).toBe(a.text);
    // The static token is a scope of its own too.
    const s = await call(h.app, "POST", "/v1/workers", { json: { display_name: "a" }, headers: { authorization: "Bearer static-token", ...K("shared") } });
    expect(s.body.worker.worker_ref.worker_id).not.toBe(a.body.worker.worker_ref.worker_id);
  });

  test("the OpenAPI document shows the header and 422 idempotency_key_reused on every POST", async () => {
    h = await harness();
    const doc = (await call(h.app, "GET", "/openapi.json")).body;
    let posts = 0;
    for (const [path, item] of Object.entries(doc.paths as Record<string, Record<string, any>>)) {
      const post = item.post;
      if (!post) continue;
      posts++;
      expect(post.parameters.some((p: any) => p.in === "header" && p.name === "Idempotency-Key"), path).toBe(true);
      expect(post.responses["422"]?.description ?? "", path).toContain("idempotency_key_reused");
    }
    expect(posts).toBe(6);
  });
});
