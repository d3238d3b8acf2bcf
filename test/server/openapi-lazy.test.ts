import { afterAll, describe, expect, test } from "bun:test";
import { openApiDocument } from "../../src/server/index.ts";
import { call, harness, type Harness } from "./helpers.ts";

/**
 * The document is built on its first request, not when the app is built (issue 16: start-up
 * builds only what /healthz needs). Elysia adds `additionalProperties: false` to route schemas
 * as it compiles each route on first use; the document must not show which routes ran before.
 */
const opened: Harness[] = [];
afterAll(async () => {
  await Promise.all(opened.map((h) => h.close()));
});
const H = { headers: { authorization: "Bearer t" } };

/** One request of every kind to every route, accepted and refused, before the document exists. */
async function exerciseEveryRoute(h: Harness): Promise<void> {
  const created = await call(h.app, "POST", "/v1/workers", { ...H, json: { profile: { kind: "named", value: "slow" } } });
  expect(created.status).toBe(201);
  const id = created.body.worker.worker_ref.worker_id as string;
  const requests: [string, string, unknown?][] = [
    ["GET", "/healthz"],
    ["GET", "/readyz"],
    ["GET", "/metrics"],
    ["GET", "/v1/runtime"],
    ["GET", "/v1/runtime?x=1"],
    ["GET", "/v1/workers"],
    ["GET", "/v1/workers?status=bogus"],
    ["POST", "/v1/workers", { bogus: 1 }],
    ["GET", `/v1/workers/${id}`],
    ["GET", `/v1/workers/${id}/`],
    ["POST", `/v1/workers/${id}/input`, { kind: "user", content: "x" }],
    ["POST", `/v1/workers/${id}/input`, { kind: 1 }],
    ["GET", `/v1/workers/${id}/transcript?tail=1`],
    ["GET", `/v1/workers/${id}/transcript?tail=1&tail=2`],
    ["GET", `/v1/workers/${id}/transcript?start=x`],
    ["GET", `/v1/workers/${id}/runs`],
    ["GET", `/v1/workers/${id}/runs/r-1`],
    ["POST", `/v1/workers/${id}/runs/r-1/permission`, { option_id: "a" }],
    ["POST", `/v1/workers/${id}/cancel`, {}],
    ["POST", `/v1/workers/${id}/stop`, { reason: "r" }],
    ["POST", `/v1/workers/${id}/restore`, {}],
    ["GET", "/v1/events?after=0"],
    ["GET", "/v1/events?after=x"],
    ["GET", "/v1/diagnostics"],
    ["DELETE", `/v1/workers/${id}`],
  ];
  for (const [method, path, json] of requests) {
    const result = await call(h.app, method, path, json === undefined ? H : { ...H, json });
    expect({ method, path, status: result.status < 500 }).toEqual({ method, path, status: true });
  }
}

describe("OpenAPI document built on first use", () => {
  test("is identical whether every route served requests before it or none did", async () => {
    const fresh = await harness({ token: "t" });
    const used = await harness({ token: "t" });
    opened.push(fresh, used);
    const before = JSON.stringify(openApiDocument(fresh.app));
    await exerciseEveryRoute(used);
    const served = await call(used.app, "GET", "/openapi.json", H);
    expect(served.status).toBe(200);
    expect(JSON.stringify(served.body)).toBe(before);
    // …and the routes did change their live schemas, so this compares something.
    const healthz = used.app.routes.find((route) => route.path === "/healthz" && route.method === "GET")!;
    expect((healthz.hooks as { response: Record<string, { additionalProperties?: unknown }> }).response["200"]!.additionalProperties).toBe(false);
  });

  test("GET /openapi.json answers the same document every time, and openApiDocument() the same", async () => {
    const h = await harness({ token: "t" });
    opened.push(h);
    const first = await call(h.app, "GET", "/openapi.json", H);
    const second = await call(h.app, "GET", "/openapi.json", H);
    expect(second.text).toBe(first.text);
    expect(JSON.parse(first.text)).toEqual(JSON.parse(JSON.stringify(openApiDocument(h.app))));
  });
});
