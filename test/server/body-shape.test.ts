import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, createWorker, errorOf, harness, type Harness } from "./helpers.ts";

let h: Harness;
let worker: string;

beforeAll(async () => {
  h = await harness();
  worker = await createWorker(h.app);
});
afterAll(() => h.close());

const json = { "content-type": "application/json" };

describe("request bodies are JSON objects (issue 12)", () => {
  const routes = () => ["/v1/workers", `/v1/workers/${worker}/stop`, `/v1/workers/${worker}/cancel`, `/v1/workers/${worker}/input`];
  for (const [label, raw] of [
    ["null", "null"],
    ["a string", '"x"'],
    ["a number", "42"],
    ["a boolean", "true"],
    ["an array", "[]"],
  ] as const) {
    test(`${label} is 400 invalid_request on every route that takes a body`, async () => {
      const before = (await h.runtime.summary()).workers.total;
      for (const path of routes()) {
        const error = errorOf(await call(h.app, "POST", path, { raw, headers: json }), 400, "invalid_request");
        expect(error.message).toContain("JSON object");
      }
      // Nothing was applied: no worker created, the worker still idle.
      expect((await h.runtime.summary()).workers.total).toBe(before);
      expect((await h.runtime.getWorker(worker)).status).toBe("idle");
    });
  }

  test("no body or an empty body still means {} where the route allows it", async () => {
    expect((await call(h.app, "POST", `/v1/workers/${worker}/cancel`)).status).toBe(200);
    expect((await call(h.app, "POST", `/v1/workers/${worker}/cancel`, { raw: "", headers: json })).status).toBe(200);
    expect((await call(h.app, "POST", "/v1/workers", { raw: "", headers: json })).status).toBe(201);
  });

  test("a body starting with a byte order mark is 400 invalid_json (RFC 8259: senders must not add one)", async () => {
    const raw = new Uint8Array([0xef, 0xbb, 0xbf, ...new TextEncoder().encode("{}")]);
    errorOf(await call(h.app, "POST", `/v1/workers/${worker}/cancel`, { raw, headers: json }), 400, "invalid_json");
  });
});
