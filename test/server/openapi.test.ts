import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { ERROR_CODES, EVENT_KINDS } from "../../src/index.ts";
import { HTTP_STATUS, openApiDocument } from "../../src/server/index.ts";
import { ROUTE_SCOPES } from "../../src/server/scopes.ts";
import { call, harness, type Harness } from "./helpers.ts";

let h: Harness;
let doc: any;
beforeAll(async () => {
  h = await harness({ token: "t" });
  const result = await call(h.app, "GET", "/openapi.json", { headers: { authorization: "Bearer t" } });
  expect(result.status).toBe(200);
  doc = result.body;
});
afterAll(async () => {
  await h.close();
});

/** Every §10 route with the error statuses it must declare at least. */
const ROUTES: [string, string, number[], number[]][] = [
  ["get", "/healthz", [200], [403]],
  ["get", "/readyz", [200, 503], []],
  ["get", "/metrics", [200], [401, 403, 500]],
  ["get", "/openapi.json", [200], [401, 403]],
  ["get", "/v1/runtime", [200], [401, 403, 500]],
  ["get", "/v1/workers", [200], [400, 401, 403, 500, 503]],
  ["post", "/v1/workers", [201], [400, 401, 403, 409, 413, 415, 422, 429, 500, 503]],
  ["get", "/v1/workers/{worker_id}", [200], [400, 401, 403, 404, 500, 503]],
  ["delete", "/v1/workers/{worker_id}", [200], [400, 401, 403, 404, 409, 500, 503]],
  ["post", "/v1/workers/{worker_id}/input", [200, 202], [400, 401, 403, 404, 409, 413, 415, 500, 503]],
  ["post", "/v1/workers/{worker_id}/stop", [200], [400, 401, 403, 404, 413, 415, 500, 503]],
  ["post", "/v1/workers/{worker_id}/cancel", [200], [400, 401, 403, 404, 413, 415, 500, 503]],
  ["post", "/v1/workers/{worker_id}/restore", [200], [400, 401, 403, 404, 413, 415, 500, 503]],
  ["get", "/v1/workers/{worker_id}/transcript", [200], [400, 401, 403, 404, 500, 503]],
  ["get", "/v1/workers/{worker_id}/runs", [200], [400, 401, 403, 404, 500, 503]],
  ["get", "/v1/workers/{worker_id}/runs/{run_id}", [200], [400, 401, 403, 404, 500, 503]],
  ["post", "/v1/workers/{worker_id}/runs/{run_id}/permission", [200], [400, 401, 403, 404, 409, 413, 415, 500, 503]],
  ["get", "/v1/events", [200], [400, 401, 403, 410, 500, 503]],
  ["get", "/v1/events/stream", [200], [400, 401, 403, 410, 500, 503]],
  ["get", "/v1/diagnostics", [200], [401, 403, 500, 503]],
];

describe("OpenAPI document", () => {
  test("is OpenAPI 3.1 and the same object openApiDocument() builds without a request", () => {
    expect(doc.openapi).toBe("3.1.0");
    expect(doc.info.title).toBe("yoi-runtime");
    expect(doc).toEqual(JSON.parse(JSON.stringify(openApiDocument(h.app))));
  });

  test("lists every route, and only those", () => {
    const listed = Object.entries(doc.paths).flatMap(([path, methods]) => Object.keys(methods as object).map((m) => `${m} ${path}`));
    expect(listed.sort()).toEqual(ROUTES.map(([method, path]) => `${method} ${path}`).sort());
  });

  test("every operation declares its success and error statuses, errors with the Error schema", () => {
    for (const [method, path, success, errors] of ROUTES) {
      const operation = doc.paths[path][method];
      expect(typeof operation.operationId).toBe("string");
      expect(typeof operation.summary).toBe("string");
      const statuses = Object.keys(operation.responses).map(Number);
      for (const status of [...success, ...errors]) expect(statuses).toContain(status);
      // /readyz answers 503 with its own body ({"ready": false, "cause"}), by contract (SPEC §10).
      for (const status of statuses.filter((s) => s >= 400 && !(path === "/readyz" && s === 503))) {
        const response = operation.responses[status];
        expect(response.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/Error" });
        // The description names the codes this status carries, and each maps to this status.
        const codes = response.description.replace(/^Error: /, "").split(", ");
        for (const code of codes) expect<number>(HTTP_STATUS[code as keyof typeof HTTP_STATUS]).toBe(status);
      }
    }
  });

  test("the Error schema is the uniform body with every code", () => {
    const error = doc.components.schemas.Error;
    expect(error.required).toEqual(["error"]);
    expect(error.properties.error.required).toEqual(["code", "message"]);
    expect(error.properties.error.properties.code.enum.sort()).toEqual([...ERROR_CODES].sort());
  });

  test("parameters and bodies come from the route schemas", () => {
    const input = doc.paths["/v1/workers/{worker_id}/input"].post;
    expect(input.parameters.map((p: any) => [p.name, p.in, p.required])).toEqual([
      ["worker_id", "path", true],
      ["wait", "query", false],
      ["Idempotency-Key", "header", false],
    ]);
    expect(input.parameters[1].schema).toEqual({ type: "integer", minimum: 0, maximum: 300 });
    expect(input.requestBody).toEqual({ required: true, content: { "application/json": { schema: { $ref: "#/components/schemas/InputRequest" } } } });
    expect(doc.components.schemas.InputRequest.additionalProperties).toBe(false);
    const stop = doc.paths["/v1/workers/{worker_id}/stop"].post;
    expect(stop.requestBody.required).toBe(false);
    expect(stop.requestBody.content["application/json"].schema).toEqual({ $ref: "#/components/schemas/ReasonRequest" });
    const create = doc.paths["/v1/workers"].post.requestBody;
    expect(create.required).toBe(false);
    expect(Object.keys(doc.components.schemas.CreateWorkerRequest.properties)).toContain("requested_capabilities");
    const stream = doc.paths["/v1/events/stream"].get;
    expect(stream.parameters.map((p: any) => `${p.in}:${p.name}`)).toEqual(["query:after", "query:worker_id", "header:last-event-id"]);
    expect(Object.keys(stream.responses[200].content)).toEqual(["text/event-stream"]);
  });

  test("schemas are plain JSON: no internal markers, and every $ref resolves", () => {
    const text = JSON.stringify(doc);
    expect(text).not.toContain("noValidate");
    for (const match of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g)) {
      expect(doc.components.schemas[match[1]!]).toBeDefined();
    }
    expect(text).not.toContain('"$id"');
  });

  test("events are a union by kind, each with its own payload", () => {
    const members: any[] = doc.components.schemas.RuntimeEvent.anyOf;
    const kinds = members.map((member) => member.properties.kind.const);
    expect(kinds.sort()).toEqual([...EVENT_KINDS].sort());
    const member = (kind: string) => members.find((m) => m.properties.kind.const === kind);
    expect(member("run_completed").properties.data.properties.run).toEqual({ $ref: "#/components/schemas/Run" });
    expect(member("diagnostic").properties.data.properties.diagnostic).toEqual({ $ref: "#/components/schemas/Diagnostic" });
    expect(member("worker_stopped").properties.data.required.sort()).toEqual(["cancelled_run_id", "reason"]);
    expect(member("run_output_delta").properties.id).toEqual({ type: "null" });
    expect(member("run_started").properties.id.type).toBe("integer");
  });

  test("each operation's security is its row of the route→scope table: none for /healthz and /readyz", () => {
    for (const [method, path] of ROUTES) {
      const scope = (ROUTE_SCOPES as Record<string, string | null>)[`${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ":$1")}`];
      expect(scope).toBeDefined();
      expect(doc.paths[path][method].security).toEqual(scope === null ? [] : [{ bearerAuth: [] }, { signedToken: [scope] }]);
    }
    expect(doc.paths["/healthz"].get.security).toEqual([]);
    expect(doc.paths["/readyz"].get.security).toEqual([]);
    expect(doc.paths["/v1/workers"].post.security).toEqual([{ bearerAuth: [] }, { signedToken: ["workers:write"] }]);
    expect(doc.components.securitySchemes.bearerAuth).toMatchObject({ type: "http", scheme: "bearer" });
    expect(doc.components.securitySchemes.signedToken).toMatchObject({ type: "http", scheme: "bearer", bearerFormat: "JWT" });
  });
});
