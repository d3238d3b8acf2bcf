import { describe, expect, test } from "bun:test";
import { MemoryStore, Runtime, builtinBackends } from "../../src/index.ts";
import { createApp } from "../../src/server/index.ts";
import { call, captureLogger, errorOf, harness, until } from "./helpers.ts";

describe("request logging", () => {
  test("one debug line per request with method, path, status and ms", async () => {
    const { logger, lines } = captureLogger();
    const h = await harness({ logger });
    try {
      await call(h.app, "GET", "/v1/runtime");
      await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w" } });
      await call(h.app, "GET", "/v1/workers/nope");
      await call(h.app, "PUT", "/v1/workers");
      await until(() => lines.filter((l) => l.message === "request").length === 4, "four request lines");
      const requests = lines.filter((l) => l.level === "debug" && l.message === "request").map((l) => l.fields!);
      expect(requests.map((f) => [f.method, f.path, f.status])).toEqual([
        ["GET", "/v1/runtime", 200],
        ["POST", "/v1/workers", 201],
        ["GET", "/v1/workers/nope", 404],
        ["PUT", "/v1/workers", 405],
      ]);
      for (const fields of requests) expect(typeof fields.ms).toBe("number");
      // A 4xx is logged at debug (the client's mistake), never as a warning.
      const failures = lines.filter((l) => l.message === "request failed").map((l) => [l.level, l.fields!.code]);
      expect(failures).toEqual([
        ["debug", "worker_not_found"],
        ["debug", "method_not_allowed"],
      ]);
      expect(lines.filter((l) => l.level === "warn" || l.level === "error")).toEqual([]);
    } finally {
      await h.close();
    }
  });

  test("tokens, Authorization headers and input content never reach the log", async () => {
    const { logger, lines } = captureLogger();
    const token = "tok-LOGGED-NEVER";
    const content = "content-LOGGED-NEVER";
    const h = await harness({ token, logger });
    try {
      const headers = { authorization: `Bearer ${token}` };
      await call(h.app, "POST", "/v1/workers", { json: { worker_id: "w" }, headers });
      await call(h.app, "POST", "/v1/workers/w/input?wait=5", { json: { kind: "user", content }, headers });
      await call(h.app, "POST", "/v1/workers/w/input", { raw: `{"kind":"user","content":"${content}"`, headers: { ...headers, "content-type": "application/json" } });
      await call(h.app, "POST", "/v1/workers/w/input", { raw: `{"kind":"user","content":"${content}","x":1}`, headers: { ...headers, "content-type": "application/json" } });
      await call(h.app, "POST", "/v1/workers/w/input", { raw: `{"kind":"user","content":"${content}","content":"x"}`, headers: { ...headers, "content-type": "application/json" } });
      await call(h.app, "GET", "/v1/runtime", { headers: { authorization: `Bearer ${token}-wrong` } });
      await until(() => lines.filter((l) => l.message === "request").length === 6, "six request lines");
      const text = JSON.stringify(lines);
      expect(text).not.toContain("LOGGED-NEVER");
      expect(text.toLowerCase()).not.toContain("authorization");
      expect(lines.filter((l) => l.message === "request failed").map((l) => l.fields!.code)).toEqual([
        "invalid_json",
        "invalid_request",
        "invalid_json",
        "unauthorized",
      ]);
    } finally {
      await h.close();
    }
  });
});

describe("unexpected failures", () => {
  test("an unknown error is 500 internal with a generic message; the real one is logged once", async () => {
    // A store whose diagnostics read fails with a plain Error, as an unforeseen bug would; the
    // read while the runtime opens still succeeds.
    const store = new MemoryStore();
    const original = store.listDiagnostics.bind(store);
    let opened = false;
    store.listDiagnostics = async () => {
      if (!opened) return original();
      throw new Error("disk on fire at /secret/path");
    };
    const runtime = await Runtime.open({ store, backends: builtinBackends });
    opened = true;
    const { logger, lines } = captureLogger();
    const app = createApp(runtime, { logger });
    try {
      const result = await call(app, "GET", "/v1/diagnostics");
      const error = errorOf(result, 500, "internal");
      expect(error.message).toBe("internal error");
      expect(result.text).not.toContain("secret");
      const errors = lines.filter((l) => l.level === "error");
      expect(errors).toHaveLength(1);
      expect(errors[0]!.fields!.code).toBe("internal");
      expect(String(errors[0]!.fields!.error)).toContain("disk on fire");
    } finally {
      await runtime.close();
    }
  });
});
