import { afterEach, beforeAll, describe, expect, test } from "bun:test";
import { KeySet, KeySetError, parseKeySet } from "../../src/server/key-set.ts";
import { ROUTE_SCOPES, SCOPES, type RouteScope } from "../../src/server/scopes.ts";
import { createTokenVerifier } from "../../src/server/token-verifier.ts";
import { call, captureLogger, errorOf, harness, type Harness } from "./helpers.ts";
import { forged, Frames, jwksText, makeKey, sign, tampered, type SignOptions, type TestKey } from "./token-helpers.ts";

const STATIC = "static-token-for-full-access";
const RUNTIME_ID = "rt-test";
const ALL = SCOPES.join(" ");

let key: TestKey;
let other: TestKey;
let ecKey: TestKey;
beforeAll(async () => {
  [key, other, ecKey] = await Promise.all([makeKey("k1"), makeKey("k2"), makeKey("e1", "ES256")]);
});

let h: Harness;
let keys: KeySet;
/** The verifier's clock (ms); null: the real one. */
let clock: number | null;

async function setup(options: { issuer?: string; max_token_lifetime_s?: number; logger?: ReturnType<typeof captureLogger>["logger"] } = {}) {
  clock = null;
  keys = KeySet.fromText(jwksText(key, ecKey));
  const verifier = createTokenVerifier({
    keys,
    audience: RUNTIME_ID,
    issuer: options.issuer,
    max_token_lifetime_s: options.max_token_lifetime_s ?? 3600,
    clock_skew_s: 30,
    now: () => clock ?? Date.now(),
  });
  h = await harness({ token: STATIC, verifier, logger: options.logger, heartbeat_ms: 60_000 });
}
afterEach(async () => {
  await h?.close();
});

const token = (options: SignOptions = {}, signer: TestKey = key) => sign(signer, { aud: RUNTIME_ID, scope: ALL, ...options });
const bearer = (value: string) => ({ authorization: `Bearer ${value}` });
const asStatic = bearer(STATIC);

async function createAs(headers: Record<string, string>, body: Record<string, unknown> = {}) {
  return call(h.app, "POST", "/v1/workers", { json: body, headers });
}

/** Status and body of a request; an event stream is cancelled once its head arrived. */
async function request(method: string, path: string, headers: Record<string, string>, json?: unknown) {
  if (path.startsWith("/v1/events/stream")) {
    const response = await h.app.handle(new Request(`http://localhost${path}`, { method, headers }));
    const text = response.status === 200 ? "" : await response.text();
    if (response.status === 200) await response.body?.cancel();
    return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined, text };
  }
  return call(h.app, method, path, { json, headers });
}

describe("route→scope table", () => {
  test("names every route the app serves, and only those", async () => {
    await setup();
    const served = new Set(
      h.app.routes.filter((route) => route.method !== "HEAD" && route.method !== "OPTIONS").map((route) => `${route.method} ${route.path}`),
    );
    for (const route of served) expect(Object.keys(ROUTE_SCOPES)).toContain(route);
    expect(Object.keys(ROUTE_SCOPES).filter((route) => !served.has(route))).toEqual([]);
  });

  test("every route refuses a token without its scope (403 naming it) and accepts one with only that scope", async () => {
    await setup();
    const seed = (await createAs(asStatic, { worker_id: "seed" })).body.worker.worker_ref.worker_id as string;
    const input = await call(h.app, "POST", `/v1/workers/${seed}/input?wait=5`, { json: { kind: "user", content: "hi" }, headers: asStatic });
    const run_id = input.body.ack.run_id as string;
    let fresh = 0;
    const routes = h.app.routes.filter((route) => route.method !== "HEAD" && route.method !== "OPTIONS");
    for (const route of routes) {
      const scope = (ROUTE_SCOPES as Record<string, RouteScope>)[`${route.method} ${route.path}`];
      if (scope === null || scope === undefined) continue;
      // A worker of its own for the routes that change it, so each case starts from the same state
      // (the permission answer needs the seed's run).
      const permission = route.path.endsWith("/permission");
      const worker =
        route.method === "GET" || permission ? seed : (await createAs(asStatic, { worker_id: `w${++fresh}` })).body.worker.worker_ref.worker_id;
      const path = route.path.replace(":worker_id", worker).replace(":run_id", run_id);
      const json = route.path.endsWith("/input")
        ? { kind: "user", content: "hello" }
        : permission
          ? { option_id: "allow" }
          : route.method === "POST"
            ? {}
            : undefined;

      const lacking = await token({ scope: SCOPES.filter((s) => s !== scope).join(" ") });
      const refused = await request(route.method, path, bearer(lacking), json);
      const error = errorOf(refused as never, 403, "insufficient_scope");
      expect(error.details).toEqual({ scope });
      expect(refused.headers.get("www-authenticate")).toBe(`Bearer realm="yoi-runtime", error="insufficient_scope", scope="${scope}"`);

      const granted = await request(route.method, path, bearer(await token({ scope })), json);
      // Past the guard: a success, or for a permission answer on an echo run the route's own 409.
      const passed = granted.status < 400 || (permission && granted.body?.error?.code === "no_pending_permission");
      if (!passed) throw new Error(`${route.method} ${route.path} with ${scope}: ${granted.status} ${granted.text}`);
    }
    // The public routes need nothing at all.
    expect((await call(h.app, "GET", "/healthz")).status).toBe(200);
    expect((await call(h.app, "GET", "/readyz")).status).toBe(200);
  });
});

describe("signed token refusals: 401 invalid_token", () => {
  test("expired, not yet valid, wrong audience, wrong issuer, too long, forged, unknown key, tampered", async () => {
    await setup({ issuer: "https://backend.test", max_token_lifetime_s: 900 });
    const iss = "https://backend.test";
    const good = await token({ iss });
    expect((await call(h.app, "GET", "/v1/runtime", { headers: bearer(good) })).status).toBe(200);
    const payload = { aud: RUNTIME_ID, iss, scope: ALL, iat: Math.floor(Date.now() / 1000), exp: Math.floor(Date.now() / 1000) + 300 };
    const cases: [string, string, RegExp][] = [
      ["expired (beyond the 30 s skew)", await token({ iss, iat: -600, exp: -31 }), /expired/],
      ["not yet valid (nbf beyond the skew)", await token({ iss, nbf: 120 }), /not valid yet/],
      ["issued in the future", await token({ iss, iat: 120, exp: 400 }), /future|not valid/],
      ["wrong audience", await token({ iss, aud: "rt-other" }), /audience/],
      ["no audience", await sign(key, { iss, scope: ALL }), /audience|aud/],
      ["wrong issuer", await token({ iss: "https://evil.test" }), /issuer/],
      ["no issuer while one is required", await token({}), /issuer|iss/],
      ["no expiry", await token({ iss, exp: null }), /exp/],
      ["lifetime longer than max_token_lifetime_s", await token({ iss, iat: 0, exp: 901 }), /lifetime/],
      ["lifetime too long without iat", await token({ iss, iat: null, exp: 1000 }), /lifetime/],
      ["HS256 keyed with the public key (alg confusion)", await forged("hs256-public-key", key, payload), /algorithm/],
      ["alg none", await forged("none", key, payload), /algorithm|not a signed JWT/],
      ["EdDSA key used as Ed25519 (another algorithm)", await token({ iss, alg: "Ed25519" }), /algorithm|no configured key/],
      ["unknown kid", await token({ iss }, await makeKey("k-unknown")), /no configured key/],
      ["signed by a key outside the set under a known kid", await token({ iss, kid: "k1" }, other), /signature/],
      ["tampered payload (scope widened)", tampered(await token({ iss, scope: "runtime:read" }), { scope: ALL }), /signature/],
      ["tampered payload (audience)", tampered(await token({ iss, aud: "rt-other" }), { aud: RUNTIME_ID }), /signature/],
      ["worker_ids not an array", await token({ iss, worker_ids: "w1" }), /worker_ids/],
      ["not a JWT", "not.a.jwt!", /not a signed JWT/],
      ["garbage", "x".repeat(20), /not a signed JWT/],
    ];
    for (const [name, bad, reason] of cases) {
      const result = await call(h.app, "GET", "/v1/runtime", { headers: bearer(bad) });
      if (result.status !== 401) throw new Error(`${name}: answered ${result.status}`);
      const error = errorOf(result, 401, "unauthorized");
      if (!reason.test(error.message)) throw new Error(`${name}: message ${JSON.stringify(error.message)} does not match ${reason}`);
      expect(result.headers.get("www-authenticate")).toBe('Bearer realm="yoi-runtime", error="invalid_token"');
      expect(result.text).not.toContain(bad);
    }
  });

  test("an ES256 key from the set is accepted; the static token keeps full access beside signed tokens", async () => {
    await setup();
    expect((await call(h.app, "GET", "/v1/workers", { headers: bearer(await token({}, ecKey)) })).status).toBe(200);
    expect((await call(h.app, "GET", "/metrics", { headers: asStatic })).status).toBe(200);
    expect((await createAs(asStatic)).status).toBe(201);
    errorOf(await call(h.app, "GET", "/v1/runtime", { headers: bearer("wrong-static") }), 401, "unauthorized");
    errorOf(await call(h.app, "GET", "/v1/runtime"), 401, "unauthorized");
  });

  test("a cached verification still ends at exp (plus the skew)", async () => {
    await setup();
    const now = Date.now();
    clock = now;
    const short = await token({ now, iat: 0, exp: 60 });
    const path = "/v1/workers/none";
    // Twice: the second answer comes from the cache (hot read path and Elysia path alike).
    for (let i = 0; i < 2; i++) errorOf(await call(h.app, "GET", path, { headers: bearer(short) }), 404, "worker_not_found");
    clock = now + 60_000 + 29_000;
    errorOf(await call(h.app, "GET", path, { headers: bearer(short) }), 404, "worker_not_found");
    clock = now + 60_000 + 31_000;
    errorOf(await call(h.app, "GET", path, { headers: bearer(short) }), 401, "unauthorized");
    errorOf(await call(h.app, "GET", "/v1/runtime", { headers: bearer(short) }), 401, "unauthorized");
  });
});

describe("worker_ids", () => {
  test("limits reads, lists, events, streams and creates to the named workers", async () => {
    await setup();
    for (const worker_id of ["a", "b"]) expect((await createAs(asStatic, { worker_id })).status).toBe(201);
    const limited = bearer(await token({ worker_ids: ["a", "c"] }));

    expect((await call(h.app, "GET", "/v1/workers/a", { headers: limited })).status).toBe(200);
    errorOf(await call(h.app, "GET", "/v1/workers/b", { headers: limited }), 404, "worker_not_found");
    errorOf(await call(h.app, "GET", "/v1/workers/b/transcript", { headers: limited }), 404, "worker_not_found");
    errorOf(await call(h.app, "POST", "/v1/workers/b/input", { json: { kind: "user", content: "x" }, headers: limited }), 404, "worker_not_found");
    errorOf(await call(h.app, "DELETE", "/v1/workers/b", { headers: limited }), 404, "worker_not_found");

    const list = await call(h.app, "GET", "/v1/workers", { headers: limited });
    expect(list.body.workers.map((worker: any) => worker.worker_ref.worker_id)).toEqual(["a"]);

    errorOf(await createAs(limited, { worker_id: "d" }), 403, "insufficient_scope");
    errorOf(await createAs(limited, {}), 403, "insufficient_scope");
    expect((await createAs(limited, { worker_id: "c" })).status).toBe(201);

    // Events of b (and runtime-wide events) never reach this token, polled or streamed.
    for (const worker_id of ["a", "b"]) {
      await call(h.app, "POST", `/v1/workers/${worker_id}/input?wait=5`, { json: { kind: "user", content: "hi" }, headers: asStatic });
    }
    const all = await call(h.app, "GET", "/v1/events?after=0&limit=200", { headers: asStatic });
    expect(all.body.events.events.some((event: any) => event.worker_ref?.worker_id === "b")).toBe(true);
    const polled = await call(h.app, "GET", "/v1/events?after=0&limit=200", { headers: limited });
    const seen = polled.body.events.events.map((event: any) => event.worker_ref?.worker_id);
    expect(seen.length).toBeGreaterThan(0);
    expect(new Set(seen)).toEqual(new Set(["a", "c"]));
    expect(polled.body.events.next_after).toBe(all.body.events.next_after);

    const stream = await h.app.handle(new Request("http://localhost/v1/events/stream?after=0", { headers: limited }));
    expect(stream.status).toBe(200);
    const frames = new Frames(stream);
    // A last event for b, then one for a: when a's arrives, b's must have been skipped.
    await call(h.app, "POST", "/v1/workers/b/stop", { json: {}, headers: asStatic });
    await call(h.app, "POST", "/v1/workers/a/stop", { json: {}, headers: asStatic });
    const streamed: string[] = [];
    for (;;) {
      const frame = await frames.next();
      if (frame === null) throw new Error("stream ended early");
      streamed.push(frame.data.worker_ref?.worker_id);
      if (frame.data.kind === "worker_stopped" && frame.data.worker_ref.worker_id === "a") break;
    }
    await frames.cancel();
    expect(new Set(streamed)).toEqual(new Set(["a", "c"]));
  });
});

describe("key rotation and stream expiry", () => {
  test("replacing the key set drops tokens of removed keys at once, even cached; an unusable set keeps the keys in force", async () => {
    await setup();
    const old = bearer(await token());
    expect((await call(h.app, "GET", "/v1/runtime", { headers: old })).status).toBe(200);
    keys.replace(jwksText(other));
    errorOf(await call(h.app, "GET", "/v1/runtime", { headers: old }), 401, "unauthorized");
    const rotated = bearer(await token({}, other));
    expect((await call(h.app, "GET", "/v1/runtime", { headers: rotated })).status).toBe(200);
    for (const bad of ["{", "{}", '{"keys": []}', JSON.stringify({ keys: [{ kty: "oct", k: "c2VjcmV0" }] })]) {
      expect(() => keys.replace(bad)).toThrow(KeySetError);
    }
    expect((await call(h.app, "GET", "/v1/runtime", { headers: rotated })).status).toBe(200);
  });

  test("an event stream ends with event: token_expired when its token expires", async () => {
    await setup();
    const expiring = await token({ iat: 0, exp: 2 });
    const response = await h.app.handle(new Request("http://localhost/v1/events/stream", { headers: bearer(expiring) }));
    expect(response.status).toBe(200);
    const frames = new Frames(response);
    const deadline = Date.now() + 15_000;
    for (;;) {
      const frame = await frames.next();
      if (frame === null) throw new Error("stream ended without token_expired");
      if (frame.event === "token_expired") break;
      if (Date.now() > deadline) throw new Error("no token_expired frame");
    }
    expect(await frames.next()).toBeNull();
    // A stream opened with the static token has no expiry and stays open.
    expect(h.runtime.subscriberCount).toBe(0);
  });
});

describe("key sets", () => {
  test("only Ed25519/P-256 public signing keys, each pinned to its algorithm", async () => {
    const parsed = parseKeySet(jwksText(key, ecKey));
    expect(parsed.algorithms.sort()).toEqual(["ES256", "EdDSA"]);
    expect(parsed.kids).toEqual(["k1", "e1"]);
    const { alg: _, ...noAlg } = key.publicJwk;
    expect(parseKeySet(JSON.stringify({ keys: [noAlg] })).algorithms).toEqual(["EdDSA"]);
    const refused: [unknown, RegExp][] = [
      [{ keys: [{ ...key.publicJwk, d: "secret" }] }, /secret key material/],
      [{ keys: [{ kty: "oct", k: "c2VjcmV0", alg: "HS256" }] }, /secret key material|unsupported/],
      [{ keys: [{ kty: "RSA", n: "AQAB", e: "AQAB", alg: "RS256" }] }, /unsupported key/],
      [{ keys: [{ ...key.publicJwk, alg: "ES256" }] }, /unsupported key/],
      [{ keys: [{ ...key.publicJwk, alg: "HS256" }] }, /unsupported key/],
      [{ keys: [{ ...key.publicJwk, use: "enc" }] }, /"use"/],
      [{ keys: [key.publicJwk, key.publicJwk] }, /appears twice/],
      [{ keys: [] }, /no keys/],
      [{ nope: 1 }, /not a JWKS/],
    ];
    for (const [document, reason] of refused) expect(() => parseKeySet(JSON.stringify(document))).toThrow(reason);
  });
});

describe("tokens in logs", () => {
  test("no log line of a run of accepted and refused requests holds a token", async () => {
    const capture = captureLogger();
    await setup({ logger: capture.logger });
    const good = await token();
    const lacking = await token({ scope: "runtime:read" });
    const expired = await token({ iat: -600, exp: -100 });
    for (const [value, method, path] of [
      [good, "POST", "/v1/workers"],
      [good, "GET", "/v1/workers"],
      [lacking, "POST", "/v1/workers"],
      [expired, "GET", "/v1/runtime"],
      [STATIC, "GET", "/v1/diagnostics"],
      ["wrong", "GET", "/v1/nowhere"],
    ] as const) {
      await call(h.app, method, path, { json: method === "POST" ? {} : undefined, headers: bearer(value) });
    }
    expect(capture.lines.length).toBeGreaterThan(5);
    const text = capture.lines.map((line) => JSON.stringify(line)).join("\n");
    for (const secret of [good, lacking, expired, STATIC]) {
      expect(text).not.toContain(secret);
      // Not even the signature part on its own.
      expect(text).not.toContain(secret.split(".").pop()!);
    }
  });
});

describe("typed client with a token function", () => {
  test("asks for the token before each request, so a renewed token takes over", async () => {
    await setup();
    const { createClient, unwrap } = await import("../../src/client/index.ts");
    const fresh = [await token({ scope: "workers:read" }), await token({ scope: "workers:read workers:write" })];
    let asked = 0;
    const client = createClient({
      url: "http://localhost",
      fetch: (url, init) => h.app.handle(new Request(url, init)),
      token: async () => fresh[Math.min(asked++, 1)]!,
    });
    expect((await unwrap(client.v1.workers.get())).workers).toEqual([]);
    expect(asked).toBe(1);
    // The second token has workers:write: the create goes through with it.
    const created = await unwrap(client.v1.workers.post({ worker_id: "from-client" }));
    expect(created.worker.worker_ref.worker_id).toBe("from-client");
    expect(asked).toBe(2);
    const failing = createClient({
      url: "http://localhost",
      fetch: (url, init) => h.app.handle(new Request(url, init)),
      token: () => {
        throw new Error("backend unreachable");
      },
    });
    // The source's own failure, not "runtime unreachable".
    await expect(unwrap(failing.v1.workers.get())).rejects.toThrow("backend unreachable");
  });
});
