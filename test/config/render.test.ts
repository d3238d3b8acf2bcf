import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { REDACTED, renderConfig, type ResolvedConfig } from "../../src/config/index.ts";
import { builtinBackends } from "../../src/execution/index.ts";
import { load, scratch, type Scratch } from "./helpers.ts";

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.remove());

/** A resolved config whose profiles carry every kind of secret the renderer must hide. */
function withSecrets(): ResolvedConfig {
  const config = load({ cwd: s.dir, flags: { "token-env": "YOI_TOKEN", "runtime-id": "rt-r", "display-name": "R" } });
  config.profiles = {
    tool: {
      backend: "command",
      command: ["prog", "{input}"],
      env: { PLAIN_LOOKING: "env-value-1", NESTED: "env-value-2" },
    },
    chat: {
      backend: "openai",
      base_url: "http://127.0.0.1:1/v1",
      model: "m",
      api_key: "sk-literal-key",
      api_key_env: "OPENAI_API_KEY",
      headers: { "X-Custom": "header-value", Authorization: "Bearer header-token" },
      client_secret: "cs-value",
      password: "pw-value",
    },
  };
  return config;
}

describe("config rendering", () => {
  test("round-trips through TOML and matches the resolved config", () => {
    const config = load({ cwd: s.dir, flags: { "runtime-id": "rt-r", "display-name": "R", "token-env": "T", store: "memory" } });
    const document = parse(renderConfig(config)) as Record<string, any>;
    expect(document).toEqual({
      runtime_id: "rt-r",
      display_name: "R",
      default_profile: "echo",
      server: { bind: "127.0.0.1:38800" },
      store: { kind: "memory", root: join(s.dir, ".yoi/runtime"), durability: "fsync" },
      auth: { token_env: "T" },
      log: { level: "info", format: "json" },
      limits: { ...config.limits },
    });
  });

  test("the output is itself a valid config file that resolves to the same configuration", () => {
    const source = s.write("in.toml", `display_name = "x"\n[profiles.slow]\nbackend = "echo"\ndelay_ms = 5\n[limits]\nmax_workers = 3\n`);
    const first = load({ cwd: s.dir, configFile: source });
    const rendered = s.write("out.toml", renderConfig(first, ["a header line"]));
    const second = load({ cwd: s.dir, configFile: rendered });
    expect({ ...second, sources: [] }).toEqual({ ...first, sources: [] });
  });

  test("profile env and header values and key-like settings are redacted; names of secret sources are kept", () => {
    const text = renderConfig(withSecrets());
    for (const secret of ["env-value-1", "env-value-2", "sk-literal-key", "header-value", "header-token", "cs-value", "pw-value"]) {
      expect(text).not.toContain(secret);
    }
    const document = parse(text) as Record<string, any>;
    expect(document.profiles.tool).toEqual({
      backend: "command",
      command: ["prog", "{input}"],
      env: { PLAIN_LOOKING: REDACTED, NESTED: REDACTED },
    });
    expect(document.profiles.chat).toEqual({
      backend: "openai",
      base_url: "http://127.0.0.1:1/v1",
      model: "m",
      api_key: REDACTED,
      api_key_env: "OPENAI_API_KEY",
      headers: { "X-Custom": REDACTED, Authorization: REDACTED },
      client_secret: REDACTED,
      password: REDACTED,
    });
    expect(document.auth).toEqual({ token_env: "YOI_TOKEN" });
  });

  test("header comments come first", () => {
    const text = renderConfig(load({ cwd: s.dir }), ["one", "two"]);
    expect(text.split("\n").slice(0, 3)).toEqual(["# one", "# two", ""]);
  });
});

describe(".yoi/runtime.example.toml", () => {
  const example = readFileSync(join(import.meta.dir, "../../.yoi/runtime.example.toml"), "utf8");

  test("parses, and with every key commented out it is the defaults", () => {
    const defaults = load({ cwd: s.dir });
    s.write(".yoi/runtime.toml", example);
    const config = load({ cwd: s.dir });
    expect(config.sources).toContain(`${join(s.dir, ".yoi/runtime.toml")} (.yoi/runtime.toml)`);
    expect({ ...config, sources: [] }).toEqual({ ...defaults, sources: [] });
  });

  test("every key it documents is accepted when uncommented (profiles of backends this build has)", () => {
    // Uncomment `# key = value` and `# [table]` lines; prose comments stay comments.
    const lines = example.split("\n").map((line) => {
      const match = /^# ((?:\[[^\]]+\])|(?:[A-Za-z_][A-Za-z0-9_-]* = .*))$/.exec(line);
      return match ? match[1]!.replace(/\s+#.*$/, "") : line;
    });
    let text = lines.join("\n");
    // The example shows both token sources; a real file names one.
    text = text.replace(/^token_file = .*$/m, "");
    const known = new Set(builtinBackends.map((backend) => backend.kind));
    // Drop profile tables (and their sub-tables) whose backend this build does not have yet.
    const kept: string[] = [];
    let skipping = false;
    for (const block of text.split(/^(?=\[)/m)) {
      const header = /^\[profiles\.([^\].]+)(\.[^\]]+)?\]/.exec(block);
      if (header && !header[2]) skipping = !known.has(/^backend = "([^"]+)"/m.exec(block)?.[1] ?? "");
      else if (!header) skipping = false;
      if (!skipping) kept.push(block);
    }
    const file = s.write("uncommented.toml", kept.join(""));
    const config = load({ cwd: s.dir, configFile: file });
    expect(config.runtime_id).toBe("rt-build-host-1");
    expect(config.auth.token_env).toBe("YOI_RUNTIME_TOKEN");
    expect(config.log.format).toBe("json");
    expect(Object.keys(config.profiles).length).toBeGreaterThan(0);
    for (const profile of Object.values(config.profiles)) expect(known.has(profile.backend)).toBe(true);
  });
});
