import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { call, errorOf, harness, type Harness } from "./helpers.ts";

/**
 * A refused request says what is allowed (issue 14): an enum lists its values, a union of shapes
 * lists the shapes (or what the chosen `kind` misses), an unknown key suggests the close known
 * one, a bound names the bound, an unknown profile lists the configured ones.
 */
let h: Harness;
beforeAll(async () => {
  h = await harness();
  expect((await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w" } })).status).toBe(201);
});
afterAll(() => h.close());

const refusal = async (method: string, path: string, json?: unknown, code = "invalid_request") =>
  errorOf(await call(h.app, method, path, json === undefined ? {} : { json }), 400, code).message;

describe("validation messages name what is allowed", () => {
  test("query parameters", async () => {
    expect(await refusal("GET", "/v1/workers?status=bogus")).toBe('invalid query: status: must be one of idle, running, stopped, unavailable (got "bogus")');
    expect(await refusal("GET", "/v1/workers?stauts=idle")).toBe('invalid query: stauts: unknown key (did you mean "status"?)');
    expect(await refusal("GET", "/v1/workers?limit=abc")).toBe('invalid query: limit: must be an integer (got "abc")');
    expect(await refusal("GET", "/v1/events?after=-1")).toBe("invalid query: after: must be an integer >= 0 (got -1)");
    expect(await refusal("GET", "/v1/workers/w/runs/r-1?wait=301")).toBe("invalid query: wait: must be an integer <= 300 (got 301)");
  });

  test("request bodies: unions of shapes, the chosen kind, unknown keys", async () => {
    expect(await refusal("POST", "/v1/workers", { intent: { kind: "tsk" } })).toBe(
      'invalid body: intent: must be one of {kind: "assistant", purpose?} | {kind: "task", objective} | {kind: "role", role, purpose?} (got kind "tsk")',
    );
    expect(await refusal("POST", "/v1/workers", { intent: { kind: "task" } })).toBe('invalid body: intent.objective: is required (for kind "task")');
    expect(await refusal("POST", "/v1/workers", { profile: { kind: "nmed", value: "x" } })).toBe(
      'invalid body: profile: must be one of {kind: "runtime_default"} | {kind: "builtin", value: "echo"} | {kind: "named", value} (got kind "nmed")',
    );
    expect(await refusal("POST", "/v1/workers", { worker_idd: "x" })).toBe('invalid body: worker_idd: unknown key (did you mean "worker_id"?)');
    expect(await refusal("POST", "/v1/workers/w/input", { kind: "usr", content: "x" })).toBe('invalid body: kind: must be one of user, system (got "usr")');
    // A typo of a required key is reported as the typo, not as the key it misses.
    expect(await refusal("POST", "/v1/workers/w/input", { kind: "user", contnet: "x" })).toBe('invalid body: contnet: unknown key (did you mean "content"?)');
    expect(await refusal("POST", "/v1/workers/w/input", { kind: "user", content: "x", zzz: 1 })).toBe("invalid body: zzz: unknown key (known here: kind, content)");
  });

  test("an unknown profile lists the configured ones", async () => {
    const message = await refusal("POST", "/v1/workers", { profile: { kind: "named", value: "slwo" } }, "unknown_profile");
    expect(message).toBe('profile "slwo" does not exist (did you mean "slow"? configured: echo, slow, stuck)');
  });
});
