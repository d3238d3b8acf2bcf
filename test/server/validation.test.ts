import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { call, createWorker, errorOf, harness, type Harness } from "./helpers.ts";

let h: Harness;
beforeEach(async () => {
  h = await harness();
  await createWorker(h.app, { worker_id: "w" });
});
afterEach(async () => {
  await h.close();
});

const JSON_TYPE = { "content-type": "application/json" };
const input = (raw: BodyInit, headers: Record<string, string> = JSON_TYPE) =>
  call(h.app, "POST", "/v1/workers/w/input", { raw, headers });

/** A body that arrives in chunks with no Content-Length, as a chunked upload does. */
function chunked(parts: (string | Uint8Array)[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  return new ReadableStream({
    start(controller) {
      for (const part of parts) controller.enqueue(typeof part === "string" ? encoder.encode(part) : part);
      controller.close();
    },
  });
}

describe("request bodies", () => {
  test("unknown fields are 400 invalid_request, naming the field", async () => {
    const error = errorOf(await input(JSON.stringify({ kind: "user", content: "x", extra: 1 })), 400, "invalid_request");
    expect(error.message).toContain("extra: unknown key");
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { intent: { kind: "task", objective: "o", x: 1 } } }), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { colour: "red" } }), 400, "invalid_request");
  });

  test("wrong types are 400 invalid_request", async () => {
    errorOf(await input(JSON.stringify({ kind: "user", content: 5 })), 400, "invalid_request");
    errorOf(await input(JSON.stringify({ kind: "robot", content: "x" })), 400, "invalid_request");
    errorOf(await input(JSON.stringify(["user", "x"])), 400, "invalid_request");
    errorOf(await input("null"), 400, "invalid_request");
    errorOf(await input('"text"'), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { display_name: "a\u0000b" } }), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { profile: { kind: "builtin", value: "other" } } }), 400, "invalid_request");
  });

  test("empty content is 400; content over limits.max_input_bytes is 413", async () => {
    errorOf(await input(JSON.stringify({ kind: "user", content: "" })), 400, "invalid_request");
    const tooLong = errorOf(await input(JSON.stringify({ kind: "user", content: "é".repeat(513) })), 413, "payload_too_large");
    expect(tooLong.message).toContain("max_input_bytes");
    const fits = await input(JSON.stringify({ kind: "system", content: "é".repeat(512) }));
    expect(fits.status).toBe(202);
  });

  test("malformed JSON is 400 invalid_json without quoting the body", async () => {
    for (const raw of ["{", '{"kind":"user",}', "{kind:'user'}", "[1,2", "tru", '{"a":1}{"b":2}']) {
      const error = errorOf(await input(raw), 400, "invalid_json");
      expect(error.message).toBe("the request body is not valid JSON");
    }
  });

  test("a required body that is missing or empty is 400 invalid_request", async () => {
    errorOf(await call(h.app, "POST", "/v1/workers/w/input"), 400, "invalid_request");
    errorOf(await input(""), 400, "invalid_request");
  });

  test("optional bodies may be absent, empty, `{}`, or empty with any content type", async () => {
    // A create request's fields are all optional: no body creates an assistant on the default profile.
    const created = await call(h.app, "POST", "/v1/workers");
    expect(created.status).toBe(201);
    expect(created.body.worker).toMatchObject({ status: "idle", intent: { kind: "assistant" }, profile: { name: "echo" } });
    expect((await call(h.app, "POST", "/v1/workers", { raw: "", headers: JSON_TYPE })).status).toBe(201);
    expect((await call(h.app, "POST", "/v1/workers", { raw: "", headers: { "content-type": "text/plain" } })).status).toBe(201);
    for (const action of ["cancel", "stop", "restore"]) {
      expect((await call(h.app, "POST", `/v1/workers/w/${action}`)).status).toBe(200);
      expect((await call(h.app, "POST", `/v1/workers/w/${action}`, { raw: "", headers: JSON_TYPE })).status).toBe(200);
      expect((await call(h.app, "POST", `/v1/workers/w/${action}`, { json: {} })).status).toBe(200);
      expect((await call(h.app, "POST", `/v1/workers/w/${action}`, { raw: "", headers: { "content-type": "text/plain" } })).status).toBe(200);
      expect((await call(h.app, "POST", `/v1/workers/w/${action}`, { raw: chunked([]), headers: JSON_TYPE })).status).toBe(200);
    }
  });

  test("a non-JSON content type is 415 unsupported_media_type", async () => {
    const body = JSON.stringify({ kind: "user", content: "x" });
    errorOf(await input(body, { "content-type": "text/plain" }), 415, "unsupported_media_type");
    errorOf(await input(body, { "content-type": "application/x-www-form-urlencoded" }), 415, "unsupported_media_type");
    errorOf(await input(body, { "content-type": "application/json; charset=latin1" }), 415, "unsupported_media_type");
    errorOf(await input(new Blob([body]), {}), 415, "unsupported_media_type");
    errorOf(await call(h.app, "POST", "/v1/workers/w/stop", { raw: '{"reason":"x"}', headers: { "content-type": "text/plain" } }), 415, "unsupported_media_type");
    const accepted = await input(body, { "content-type": "Application/JSON; charset=UTF-8" });
    expect(accepted.status).toBe(202);
  });

  test("bodies over limits.max_body_bytes are 413, announced or chunked", async () => {
    const big = JSON.stringify({ kind: "user", content: "x".repeat(5000) });
    const announced = errorOf(await input(big), 413, "payload_too_large");
    expect(announced.details).toEqual({ max_body_bytes: 4096 });
    errorOf(await input(chunked([big.slice(0, 3000), big.slice(3000)])), 413, "payload_too_large");
    errorOf(await call(h.app, "POST", "/v1/workers", { raw: chunked(['{"display_name":"', "a".repeat(5000), '"}']), headers: JSON_TYPE }), 413, "payload_too_large");
    const small = await input(chunked(['{"kind":"system",', '"content":"ok"}']));
    expect(small.status).toBe(202);
  });

  test("invalid UTF-8 is 400 invalid_json", async () => {
    const bytes = new Uint8Array([...new TextEncoder().encode('{"kind":"user","content":"'), 0xc3, 0x28, ...new TextEncoder().encode('"}')]);
    const error = errorOf(await input(bytes), 400, "invalid_json");
    expect(error.message).toContain("UTF-8");
    errorOf(await input(chunked([new Uint8Array([0xff, 0xfe, 0x7b, 0x7d])])), 400, "invalid_json");
  });

  test("duplicate keys are 400 invalid_json, also when spelled with escapes", async () => {
    errorOf(await input('{"kind":"user","content":"a","content":"b"}'), 400, "invalid_json");
    errorOf(await input('{"kind":"user","cont\\u0065nt":"a","content":"b"}'), 400, "invalid_json");
    errorOf(await call(h.app, "POST", "/v1/workers", { raw: '{"intent":{"kind":"task","objective":"a","objective":"b"}}', headers: JSON_TYPE }), 400, "invalid_json");
    // The same key in sibling objects is no duplicate.
    const ok = await call(h.app, "POST", "/v1/workers", {
      raw: '{"mount_refs":[{"name":"a","reference":"r"},{"name":"b","reference":"r"}]}',
      headers: JSON_TYPE,
    });
    expect(ok.status).toBe(201);
  });

  test("deep nesting is a typed 4xx, never a 500", async () => {
    errorOf(await input(`${"[".repeat(100)}${"]".repeat(100)}`), 400, "invalid_json");
    const deep = `{"kind":"user","content":"x","a":${'{"b":'.repeat(600)}1${"}".repeat(600)}}`;
    errorOf(await input(deep), 400, "invalid_json");
    // Nesting within the limit reaches the schema, which refuses the unknown field.
    const nested = `{"kind":"user","content":"x","a":${'{"b":'.repeat(60)}1${"}".repeat(60)}}`;
    errorOf(await input(nested), 400, "invalid_request");
    // Within the 4 KiB body limit, the deepest possible nesting.
    errorOf(await input("[".repeat(4000)), 400, "invalid_json");
  });

  test("half a million open brackets within a 1 MiB body limit are refused as invalid_json", async () => {
    const roomy = await harness({}, { max_body_bytes: 1_048_576 });
    try {
      await createWorker(roomy.app, { worker_id: "w" });
      const raw = "[".repeat(500_000) + "]".repeat(500_000);
      errorOf(await call(roomy.app, "POST", "/v1/workers/w/input", { raw, headers: JSON_TYPE }), 400, "invalid_json");
    } finally {
      await roomy.close();
    }
  });

  test("prototype-shaped keys are only unknown fields", async () => {
    errorOf(await input('{"kind":"user","content":"x","__proto__":{"admin":true}}'), 400, "invalid_request");
    errorOf(await call(h.app, "POST", "/v1/workers", { raw: '{"constructor":{"prototype":{}}}', headers: JSON_TYPE }), 400, "invalid_request");
  });
});

describe("path and query values", () => {
  test("bad worker ids in paths are 400 invalid_worker_id", async () => {
    for (const id of ["a%2Fb", ".hidden", "-x", "a%20b", "%E2%9C%93", "x".repeat(129), "%00"]) {
      errorOf(await call(h.app, "GET", `/v1/workers/${id}`), 400, "invalid_worker_id");
      errorOf(await call(h.app, "POST", `/v1/workers/${id}/input`, { json: { kind: "user", content: "x" } }), 400, "invalid_worker_id");
    }
  });

  test("traversal-shaped paths never reach a worker", async () => {
    // `..` and its percent-encoded forms are resolved by URL parsing into other paths.
    for (const path of ["/v1/workers/..", "/v1/workers/%2e%2e", "/v1/workers/%2E%2E/input", "/v1/workers/../w"]) {
      const result = await call(h.app, "GET", path);
      expect(result.status).toBeGreaterThanOrEqual(400);
      expect(result.status).toBeLessThan(500);
      expect(result.body.error.code).toMatch(/^(route_not_found|method_not_allowed|invalid_worker_id)$/);
    }
    errorOf(await call(h.app, "GET", "/v1/workers/..%2Fw"), 400, "invalid_worker_id");
    errorOf(await call(h.app, "GET", "/v1/workers/w%2F..%2F..%2Fetc"), 400, "invalid_worker_id");
  });

  test("malformed percent-encoding is a typed 4xx", async () => {
    const result = await call(h.app, "GET", "/v1/workers/%ZZ");
    expect(result.status).toBe(400);
    expect(result.body.error.code).toBe("invalid_worker_id");
    const query = await call(h.app, "GET", "/v1/events?worker_id=%E0%A4%A");
    expect(query.status).toBe(400);
  });

  test("bad worker ids in bodies and queries are 400 invalid_worker_id", async () => {
    for (const id of ["..", ".", "a/b", "", "x".repeat(129)]) {
      errorOf(await call(h.app, "POST", "/v1/workers", { json: { worker_id: id } }), 400, "invalid_worker_id");
      errorOf(await call(h.app, "GET", `/v1/events?worker_id=${encodeURIComponent(id)}`), 400, "invalid_worker_id");
    }
    errorOf(await call(h.app, "POST", "/v1/workers", { json: { worker_id: 7 } }), 400, "invalid_worker_id");
    // Where worker_id is no field, it is only an unknown one.
    errorOf(await input(JSON.stringify({ kind: "user", content: "x", worker_id: ".." })), 400, "invalid_request");
  });

  test("numbers in queries are plain decimal integers", async () => {
    for (const limit of ["1.0", "1e1", "0x10", "+1", " 1", "", "abc", "99999999999999999999"]) {
      errorOf(await call(h.app, "GET", `/v1/workers?limit=${encodeURIComponent(limit)}`), 400, "invalid_request");
    }
    expect((await call(h.app, "GET", "/v1/workers?limit=10")).status).toBe(200);
  });

  test("repeated and unknown query parameters are 400 invalid_request", async () => {
    errorOf(await call(h.app, "GET", "/v1/workers?limit=1&limit=2"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/workers/w/transcript?tial=2"), 400, "invalid_request");
    errorOf(await call(h.app, "GET", "/v1/events?__proto__=1"), 400, "invalid_request");
  });
});

describe("routing", () => {
  test("an unknown route is 404 route_not_found", async () => {
    for (const path of ["/", "/v2/workers", "/v1/workers/w/explode", "/v1/events/stream/x", "/healthz/x"]) {
      errorOf(await call(h.app, "GET", path), 404, "route_not_found");
    }
  });

  test("a known path with the wrong method is 405 with Allow", async () => {
    const put = errorOf(await call(h.app, "PUT", "/v1/workers/w"), 405, "method_not_allowed");
    expect(put.details).toEqual({ allow: ["DELETE", "GET", "HEAD"] });
    const patch = await call(h.app, "PATCH", "/v1/workers");
    errorOf(patch, 405, "method_not_allowed");
    expect(patch.headers.get("allow")).toBe("GET, HEAD, POST");
    const get = await call(h.app, "GET", "/v1/workers/w/input");
    errorOf(get, 405, "method_not_allowed");
    expect(get.headers.get("allow")).toBe("POST");
    const options = await call(h.app, "OPTIONS", "/v1/runtime");
    errorOf(options, 405, "method_not_allowed");
    expect(options.headers.get("allow")).toBe("GET, HEAD");
    errorOf(await call(h.app, "DELETE", "/healthz"), 405, "method_not_allowed");
  });
});
