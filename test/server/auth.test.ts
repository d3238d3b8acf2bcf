import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { call, errorOf, harness, type CallResult, type Harness } from "./helpers.ts";

const TOKEN = "s3cret-token-value";
let h: Harness;
beforeEach(async () => {
  h = await harness({ token: TOKEN });
});
afterEach(async () => {
  await h.close();
});

const bearer = { authorization: `Bearer ${TOKEN}` };

function expectNoCors(result: CallResult): void {
  for (const name of result.headers.keys()) expect(name.toLowerCase().startsWith("access-control-")).toBe(false);
}

describe("bearer token", () => {
  test("every route but /healthz and /readyz requires the token", async () => {
    const routes: [string, string][] = [
      ["GET", "/v1/runtime"],
      ["GET", "/v1/workers"],
      ["POST", "/v1/workers"],
      ["GET", "/v1/workers/w"],
      ["DELETE", "/v1/workers/w"],
      ["POST", "/v1/workers/w/input"],
      ["POST", "/v1/workers/w/stop"],
      ["POST", "/v1/workers/w/cancel"],
      ["POST", "/v1/workers/w/restore"],
      ["GET", "/v1/workers/w/transcript"],
      ["GET", "/v1/workers/w/runs"],
      ["GET", "/v1/workers/w/runs/r"],
      ["GET", "/v1/events"],
      ["GET", "/v1/events/stream"],
      ["GET", "/v1/diagnostics"],
      ["GET", "/openapi.json"],
      ["GET", "/metrics"],
      // Unknown routes and wrong methods reveal nothing before authentication either.
      ["GET", "/v1/secret-route"],
      ["PUT", "/v1/workers"],
    ];
    for (const [method, path] of routes) {
      const result = await call(h.app, method, path, { json: method === "POST" ? {} : undefined });
      errorOf(result, 401, "unauthorized");
      expect(result.headers.get("www-authenticate")).toBe('Bearer realm="yoi-runtime", error="invalid_token"');
      expect(result.text).not.toContain(TOKEN);
    }
    const health = await call(h.app, "GET", "/healthz");
    expect(health.status).toBe(200);
    expect(health.body).toEqual({ ok: true });
    const ready = await call(h.app, "GET", "/readyz");
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ ready: true });
  });

  test("the right token is accepted, with the scheme in any case", async () => {
    expect((await call(h.app, "GET", "/v1/runtime", { headers: bearer })).status).toBe(200);
    expect((await call(h.app, "GET", "/v1/runtime", { headers: { authorization: `bearer ${TOKEN}` } })).status).toBe(200);
    const created = await call(h.app, "POST", "/v1/workers", { json: {}, headers: bearer });
    expect(created.status).toBe(201);
  });

  test("missing, wrong and malformed credentials are 401 unauthorized", async () => {
    const bad = [
      "",
      "Bearer",
      "Bearer ",
      `Bearer ${TOKEN}x`,
      `Bearer ${TOKEN.slice(0, -1)}`,
      `Basic ${btoa(`user:${TOKEN}`)}`,
      `Basic ${TOKEN}`,
      TOKEN,
      `Bearer ${TOKEN} extra`,
      `Token ${TOKEN}`,
      `Bearer\t${TOKEN}`,
    ];
    for (const authorization of bad) {
      errorOf(await call(h.app, "GET", "/v1/runtime", { headers: { authorization } }), 401, "unauthorized");
    }
    errorOf(await call(h.app, "GET", "/v1/runtime"), 401, "unauthorized");
  });

  test("an app without a token serves without credentials", async () => {
    const open = await harness();
    try {
      expect((await call(open.app, "GET", "/v1/runtime")).status).toBe(200);
      expect((await call(open.app, "GET", "/v1/runtime", { headers: { authorization: "Bearer anything" } })).status).toBe(200);
    } finally {
      await open.close();
    }
  });
});

describe("Origin refusal", () => {
  test("any request with an Origin header is 403 forbidden_origin, before authentication", async () => {
    for (const [method, path] of [
      ["GET", "/v1/runtime"],
      ["POST", "/v1/workers"],
      ["GET", "/healthz"],
      ["GET", "/openapi.json"],
      ["GET", "/metrics"],
      ["OPTIONS", "/v1/workers"],
      ["GET", "/v1/events/stream"],
      ["GET", "/no/such/route"],
    ] as const) {
      for (const origin of ["http://localhost:3000", "null", "https://evil.example"]) {
        const withToken = await call(h.app, method, path, { headers: { ...bearer, origin } });
        errorOf(withToken, 403, "forbidden_origin");
        expectNoCors(withToken);
        const withoutToken = await call(h.app, method, path, { headers: { origin } });
        errorOf(withoutToken, 403, "forbidden_origin");
        expectNoCors(withoutToken);
      }
    }
  });

  test("a CORS preflight gets no CORS headers", async () => {
    const preflight = await call(h.app, "OPTIONS", "/v1/workers", {
      headers: { origin: "http://localhost:5173", "access-control-request-method": "POST" },
    });
    errorOf(preflight, 403, "forbidden_origin");
    expectNoCors(preflight);
    const plain = await call(h.app, "OPTIONS", "/v1/workers", { headers: bearer });
    errorOf(plain, 405, "method_not_allowed");
    expectNoCors(plain);
  });

  test("successful responses carry no CORS headers either", async () => {
    for (const path of ["/healthz", "/v1/runtime", "/v1/workers", "/openapi.json"]) {
      const result = await call(h.app, "GET", path, { headers: bearer });
      expect(result.status).toBe(200);
      expectNoCors(result);
    }
  });
});
