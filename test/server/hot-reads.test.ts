import { afterEach, describe, expect, test } from "bun:test";
import { call, captureLogger, harness, type CallResult, type Harness } from "./helpers.ts";

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
});
