import { afterEach, describe, expect, test } from "bun:test";
import { KeySet } from "../../src/server/key-set.ts";
import { createTokenVerifier } from "../../src/server/token-verifier.ts";
import { call, captureLogger, harness, type CallResult, type Harness } from "./helpers.ts";
import { jwksText, makeKey, sign } from "./token-helpers.ts";

/**
 * The plain reads are answered in the request pipeline before routing (src/server/hot-reads.ts);
 * a request spelled a little differently but meaning the same (a trailing `?`, an empty query
 * pair) goes through the Elysia route. Both must answer the same bytes, and log the same line.
 */
let h: Harness;
afterEach(async () => {
  await h.close();
});

const TOKEN = "hot-token-0123456789";
const bearer = { authorization: `Bearer ${TOKEN}` };

function same(hot: CallResult, routed: CallResult): void {
  expect(hot.status).toBe(routed.status);
  expect(hot.text).toBe(routed.text);
  const headers = (r: CallResult) => [...r.headers.entries()].filter(([name]) => name !== "date").sort();
  expect(headers(hot)).toEqual(headers(routed));
}

describe("hot reads answer what the Elysia routes answer", () => {
  test("GET worker, runtime and transcript pages: same status, headers and body; one log line each", async () => {
    const { logger, lines } = captureLogger();
    h = await harness({ token: TOKEN, logger });
    expect((await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w", display_name: "Hot" }, headers: bearer })).status).toBe(201);
    for (let i = 0; i < 3; i++) {
      const sent = await call(h.app, "POST", "/v1/workers/w/input?wait=5", { json: { kind: "user", content: `m${i}` }, headers: bearer });
      expect(sent.status).toBe(200);
    }
    const pairs: [string, string][] = [
      ["/healthz", "/healthz?"],
      ["/v1/workers/w", "/v1/workers/w?"],
      ["/v1/runtime", "/v1/runtime?"],
      ["/v1/workers/w/transcript", "/v1/workers/w/transcript?"],
      ["/v1/workers/w/transcript?tail=2", "/v1/workers/w/transcript?tail=2&"],
      ["/v1/workers/w/transcript?start=1&limit=3", "/v1/workers/w/transcript?start=1&&limit=3"],
    ];
    for (const [hotPath, routedPath] of pairs) {
      lines.length = 0;
      const hot = await call(h.app, "GET", hotPath, { headers: bearer });
      const hotLog = lines.map((line) => ({ ...line, fields: { ...line.fields, ms: 0 } }));
      lines.length = 0;
      const routed = await call(h.app, "GET", routedPath, { headers: bearer });
      const routedLog = lines.map((line) => ({ ...line, fields: { ...line.fields, ms: 0, path: hotPath.split("?")[0] } }));
      expect(hot.status).toBe(200);
      same(hot, routed);
      expect(hotLog).toEqual(routedLog);
      expect(hotLog.length).toBe(1);
    }
  });

  test("refusals are the routes' own: no token, a wrong token, an Origin, an unknown worker, a bad page", async () => {
    h = await harness({ token: TOKEN });
    expect((await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w" }, headers: bearer })).status).toBe(201);
    for (const [path, headers, status] of [
      ["/v1/workers/w", {}, 401],
      ["/v1/runtime", { authorization: "Bearer wrong" }, 401],
      ["/v1/runtime", { ...bearer, origin: "https://example.com" }, 403],
      ["/v1/workers/nope", bearer, 404],
      ["/v1/workers/nope/transcript", bearer, 404],
      ["/v1/workers/w/transcript?tail=100000", bearer, 400],
      ["/v1/workers/w/transcript?tail=1&start=0", bearer, 400],
    ] as [string, Record<string, string>, number][]) {
      const hot = await call(h.app, "GET", path, { headers });
      const routed = await call(h.app, "GET", path.includes("?") ? `${path}&` : `${path}?`, { headers });
      expect(hot.status).toBe(status);
      same(hot, routed);
      expect(hot.body.error.code).toBeString();
    }
  });

  test("a failing hot read is logged as the route logs it: one warning, one request line", async () => {
    const { logger, lines } = captureLogger();
    h = await harness({ token: TOKEN, logger });
    const logOf = async (path: string) => {
      lines.length = 0;
      const result = await call(h.app, "GET", path, { headers: bearer });
      return { result, log: lines.map((line) => ({ ...line, fields: { ...line.fields, ms: 0, path: "/v1/workers/nope" } })) };
    };
    const hot = await logOf("/v1/workers/nope");
    const routed = await logOf("/v1/workers/nope?");
    expect(hot.result.status).toBe(404);
    expect(hot.result.body.error.code).toBe("worker_not_found");
    same(hot.result, routed.result);
    expect(hot.log.map((line) => [line.level, line.message])).toEqual([
      ["debug", "request failed"],
      ["debug", "request"],
    ]);
    expect(hot.log).toEqual(routed.log);
  });

  test("POST …/input without a query is answered before routing as the route answers it, refusals and bad bodies included", async () => {
    const { logger, lines } = captureLogger();
    h = await harness({ token: TOKEN, logger });
    for (const id of ["w", "v"]) expect((await call(h.app, "POST", "/v1/workers", { json: { worker_id: id }, headers: bearer })).status).toBe(201);
    // The two workers get the same inputs, one through the front door, one through the route
    // (`?` makes it the route's), so every answer must be the same but for the worker's name.
    const send = async (worker: string, routed: boolean, options: Parameters<typeof call>[3]) => {
      lines.length = 0;
      const result = await call(h.app, "POST", `/v1/workers/${worker}/input${routed ? "?" : ""}`, options);
      const log = lines.map((line) => ({ ...line, fields: { ...line.fields, ms: 0, path: "p" } }));
      return { result, log };
    };
    const cases: [string, Parameters<typeof call>[3], number][] = [
      ["system input", { json: { kind: "system", content: "context" }, headers: bearer }, 202],
      ["user input", { json: { kind: "user", content: "hello" }, headers: bearer }, 202],
      ["no token", { json: { kind: "system", content: "x" } }, 401],
      ["an Origin", { json: { kind: "system", content: "x" }, headers: { ...bearer, origin: "https://example.com" } }, 403],
      ["a body the schema refuses", { json: { kind: "user", content: "" }, headers: bearer }, 400],
      ["an unknown field", { json: { kind: "user", content: "x", extra: 1 }, headers: bearer }, 400],
      ["a toString member", { raw: '{"kind":"user","content":"x","toString":1}', headers: { ...bearer, "content-type": "application/json" } }, 400],
      ["no body", { headers: { ...bearer, "content-type": "application/json" } }, 400],
      ["not JSON", { raw: "{nope", headers: { ...bearer, "content-type": "application/json" } }, 400],
      ["not an object", { raw: "[1]", headers: { ...bearer, "content-type": "application/json" } }, 400],
      ["another media type", { raw: "{}", headers: { ...bearer, "content-type": "text/plain" } }, 415],
    ];
    const normal = (text: string) => text.replace(/"worker_id":"[wv]"/g, '"worker_id":"_"').replace(/"r-[a-z0-9]+"/g, "\"r\"").replace(/"event_id":\d+/g, "\"event_id\":0");
    for (const [what, options, status] of cases) {
      const hot = await send("w", false, options);
      const routed = await send("v", true, options);
      expect([what, hot.result.status]).toEqual([what, status]);
      expect([what, routed.result.status]).toEqual([what, status]);
      expect(normal(hot.result.text)).toBe(normal(routed.result.text));
      const headers = (r: CallResult) => [...r.headers.entries()].filter(([name]) => name !== "date").sort();
      expect(headers(hot.result)).toEqual(headers(routed.result));
      expect(hot.log).toEqual(routed.log);
      if (what === "user input") {
        for (const [worker, result] of [["w", hot.result], ["v", routed.result]] as const) {
          await call(h.app, "GET", `/v1/workers/${worker}/runs/${result.body.ack.run_id}?wait=10`, { headers: bearer });
        }
      }
    }
    // An unknown worker, and one that is stopped.
    for (const [path, status] of [["/v1/workers/nope/input", 404], ["/v1/workers/w/input", 409]] as const) {
      if (status === 409) await call(h.app, "POST", "/v1/workers/w/stop", { headers: bearer });
      const hot = await call(h.app, "POST", path, { json: { kind: "user", content: "x" }, headers: bearer });
      const routed = await call(h.app, "POST", `${path}?`, { json: { kind: "user", content: "x" }, headers: bearer });
      expect(hot.status).toBe(status);
      same(hot, routed);
    }
  });

  test("POST …/input by the front door keeps Idempotency-Keys per signed-token subject, as the route does", async () => {
    const key = await makeKey("k1");
    const verifier = createTokenVerifier({ keys: KeySet.fromText(jwksText(key)), audience: "rt-test", max_token_lifetime_s: 3600, clock_skew_s: 30 });
    h = await harness({ token: TOKEN, verifier });
    expect((await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w" }, headers: bearer })).status).toBe(201);
    const as = async (sub: string) => ({
      authorization: `Bearer ${await sign(key, { aud: "rt-test", scope: "workers:read runs:write", extra: { sub } })}`,
      "idempotency-key": "shared",
    });
    const input = { kind: "system", content: "once" };
    const alice = await call(h.app, "POST", "/v1/workers/w/input", { json: input, headers: await as("alice") });
    const bob = await call(h.app, "POST", "/v1/workers/w/input", { json: input, headers: await as("bob") });
    const aliceAgain = await call(h.app, "POST", "/v1/workers/w/input", { json: input, headers: await as("alice") });
    expect([alice.status, bob.status, aliceAgain.status]).toEqual([202, 202, 202]);
    // Bob's key is another key: a second entry. Alice's retry is her first answer, replayed.
    expect(bob.body.ack.transcript_sequence).toBe(alice.body.ack.transcript_sequence + 1);
    expect(aliceAgain.text).toBe(alice.text);
    const transcript = await call(h.app, "GET", "/v1/workers/w/transcript", { headers: bearer });
    expect(transcript.body.transcript.total_items).toBe(2);
  });
});
