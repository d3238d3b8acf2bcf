import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { join } from "node:path";
import { DEFAULT_LIMITS } from "../../src/core/schema/runtime.ts";
import { DEFAULT_STORE_KIND } from "../../src/config/index.ts";
import { configError, load, scratch, type Scratch } from "./helpers.ts";

let s: Scratch;
beforeEach(() => {
  s = scratch();
});
afterEach(() => s.remove());

describe("defaults (SPEC §11)", () => {
  test("with no file, env or flag", () => {
    const config = load({ cwd: s.dir });
    expect(config.runtime_id).toBeNull();
    expect(config.display_name).toBeNull();
    expect(config.default_profile).toBe("echo");
    expect(config.server).toEqual({
      bind: "127.0.0.1:38800",
      address: { hostname: "127.0.0.1", port: 38800 },
      metrics_bind: null,
      metrics_address: null,
    });
    expect(config.store).toEqual({ kind: DEFAULT_STORE_KIND, root: join(s.dir, ".yoi/runtime"), durability: "fsync" });
    expect(config.auth).toEqual({ token_env: null, token_file: null, public_keys_file: null, issuer: null, max_token_lifetime_s: 3600, clock_skew_s: 30 });
    expect(config.log).toEqual({ level: "info", format: "json" });
    expect(config.limits).toEqual({ ...DEFAULT_LIMITS });
    expect(config.profiles).toEqual({});
    expect(config.sources).toEqual(["defaults"]);
  });

  test("log format is pretty when logs go to a terminal, json otherwise", () => {
    expect(load({ cwd: s.dir, tty: true }).log.format).toBe("pretty");
    expect(load({ cwd: s.dir, tty: false }).log.format).toBe("json");
    expect(load({ cwd: s.dir, tty: true, flags: { "log-format": "json" } }).log.format).toBe("json");
  });
});

describe("precedence: flags > --config > $YOI_RUNTIME_CONFIG > ./.yoi/runtime.toml > defaults", () => {
  const layer = (name: string) => `display_name = "${name}"\n[server]\nbind = "127.0.0.1:${name.length}"\n`;
  function setup() {
    s.write(".yoi/runtime.toml", layer("local"));
    const fromEnv = s.write("env.toml", layer("from-env"));
    const fromFlag = s.write("flag.toml", layer("from-config-flag"));
    return { fromEnv, fromFlag };
  }

  test("flags beat --config", () => {
    const { fromEnv, fromFlag } = setup();
    const config = load({
      cwd: s.dir,
      configFile: fromFlag,
      env: { YOI_RUNTIME_CONFIG: fromEnv },
      flags: { "display-name": "flag", bind: "127.0.0.1:1" },
    });
    expect(config.display_name).toBe("flag");
    expect(config.server.bind).toBe("127.0.0.1:1");
    expect(config.sources).toEqual([
      "defaults",
      `${join(s.dir, ".yoi/runtime.toml")} (.yoi/runtime.toml)`,
      `${fromEnv} ($YOI_RUNTIME_CONFIG)`,
      `${fromFlag} (--config)`,
      "flags",
    ]);
  });

  test("--config beats $YOI_RUNTIME_CONFIG", () => {
    const { fromEnv, fromFlag } = setup();
    const config = load({ cwd: s.dir, configFile: fromFlag, env: { YOI_RUNTIME_CONFIG: fromEnv } });
    expect(config.display_name).toBe("from-config-flag");
    expect(config.server.address.port).toBe("from-config-flag".length);
  });

  test("$YOI_RUNTIME_CONFIG beats ./.yoi/runtime.toml", () => {
    const { fromEnv } = setup();
    const config = load({ cwd: s.dir, env: { YOI_RUNTIME_CONFIG: fromEnv } });
    expect(config.display_name).toBe("from-env");
    expect(config.server.address.port).toBe("from-env".length);
  });

  test("./.yoi/runtime.toml beats the defaults", () => {
    setup();
    const config = load({ cwd: s.dir });
    expect(config.display_name).toBe("local");
    expect(config.server.bind).toBe("127.0.0.1:5");
  });

  test("relative paths (--config, $YOI_RUNTIME_CONFIG, store.root, token_file) resolve against the working directory", () => {
    s.write("conf/a.toml", `[store]\nroot = "data"\n[auth]\ntoken_file = "secret/token"\n`);
    const config = load({ cwd: s.dir, configFile: "conf/a.toml" });
    expect(config.store.root).toBe(join(s.dir, "data"));
    expect(config.auth.token_file).toBe(join(s.dir, "secret/token"));
    expect(load({ cwd: s.dir, env: { YOI_RUNTIME_CONFIG: "conf/a.toml" } }).store.root).toBe(join(s.dir, "data"));
  });

  test("an empty $YOI_RUNTIME_CONFIG is unset", () => {
    expect(load({ cwd: s.dir, env: { YOI_RUNTIME_CONFIG: "" } }).sources).toEqual(["defaults"]);
  });

  test("tables merge key by key across layers", () => {
    s.write(".yoi/runtime.toml", `[store]\nkind = "memory"\ndurability = "none"\n[limits]\nmax_workers = 5\n`);
    const file = s.write("c.toml", `[limits]\nmax_input_bytes = 10\n`);
    const config = load({ cwd: s.dir, configFile: file, flags: { "data-dir": "elsewhere" } });
    expect(config.store).toEqual({ kind: "memory", root: join(s.dir, "elsewhere"), durability: "none" });
    expect(config.limits).toEqual({ ...DEFAULT_LIMITS, max_workers: 5, max_input_bytes: 10 });
  });

  test("[auth] is one choice: a higher layer's token source replaces a lower one's", () => {
    s.write(".yoi/runtime.toml", `[auth]\ntoken_env = "LOW"\n`);
    const config = load({ cwd: s.dir, flags: { "token-file": "t" } });
    expect(config.auth).toEqual({ token_env: null, token_file: join(s.dir, "t"), public_keys_file: null, issuer: null, max_token_lifetime_s: 3600, clock_skew_s: 30 });
    expect(load({ cwd: s.dir }).auth).toEqual({ token_env: "LOW", token_file: null, public_keys_file: null, issuer: null, max_token_lifetime_s: 3600, clock_skew_s: 30 });
  });

  test("a profile is replaced whole by a higher layer, never mixed", () => {
    s.write(".yoi/runtime.toml", `[profiles.a]\nbackend = "echo"\ndelay_ms = 5\ncapabilities = ["x"]\n[profiles.b]\nbackend = "echo"\n`);
    const file = s.write("c.toml", `[profiles.a]\nbackend = "echo"\n`);
    const config = load({ cwd: s.dir, configFile: file });
    expect(config.profiles).toEqual({ a: { backend: "echo" }, b: { backend: "echo" } });
  });

  test("every §11 key is read", () => {
    const file = s.write(
      "all.toml",
      [
        `runtime_id = "rt-one"`,
        `display_name = "One"`,
        `default_profile = "slow"`,
        `[server]`,
        `bind = "[::1]:0"`,
        `metrics_bind = "127.0.0.1:9464"`,
        `[store]`,
        `kind = "memory"`,
        `root = "/var/lib/yoi"`,
        `durability = "none"`,
        `[auth]`,
        `token_env = "YOI_TOKEN"`,
        `public_keys_file = "/etc/yoi/jwks.json"`,
        `issuer = "https://backend.example"`,
        `max_token_lifetime_s = 600`,
        `clock_skew_s = 5`,
        `[log]`,
        `level = "debug"`,
        `format = "pretty"`,
        `[limits]`,
        `max_transcript_projection_items = 1`,
        `max_event_batch_items = 2`,
        `max_input_bytes = 3`,
        `max_body_bytes = 4`,
        `max_workers = 0`,
        `max_retained_events = 6`,
        `idempotency_retention_s = 7`,
        `[profiles.slow]`,
        `backend = "echo"`,
        `delay_ms = 100`,
        `capabilities = ["demo"]`,
        `timeout_s = 1.5`,
        `[workspaces.app]`,
        `repo = "repos/app"`,
        `base = "main"`,
        `branch_prefix = "agent/"`,
        `keep_branch_on_delete = false`,
      ].join("\n"),
    );
    expect(load({ cwd: s.dir, configFile: file })).toEqual({
      runtime_id: "rt-one",
      display_name: "One",
      default_profile: "slow",
      server: {
        bind: "[::1]:0",
        address: { hostname: "::1", port: 0 },
        metrics_bind: "127.0.0.1:9464",
        metrics_address: { hostname: "127.0.0.1", port: 9464 },
      },
      store: { kind: "memory", root: "/var/lib/yoi", durability: "none" },
      auth: {
        token_env: "YOI_TOKEN",
        token_file: null,
        public_keys_file: "/etc/yoi/jwks.json",
        issuer: "https://backend.example",
        max_token_lifetime_s: 600,
        clock_skew_s: 5,
      },
      log: { level: "debug", format: "pretty" },
      limits: {
        max_transcript_projection_items: 1,
        max_event_batch_items: 2,
        max_input_bytes: 3,
        max_body_bytes: 4,
        max_workers: 0,
        max_retained_events: 6,
        idempotency_retention_s: 7,
      },
      profiles: { slow: { backend: "echo", delay_ms: 100, capabilities: ["demo"], timeout_s: 1.5 } },
      workspaces: { app: { repo: join(s.dir, "repos/app"), base: "main", branch_prefix: "agent/", keep_branch_on_delete: false } },
      sources: ["defaults", `${file} (--config)`],
    });
  });

  test("every serve flag sets its key", () => {
    const config = load({
      cwd: s.dir,
      flags: {
        bind: "localhost:9",
        "runtime-id": "rt-flag",
        "display-name": "Flag",
        store: "memory",
        "data-dir": "/d",
        durability: "none",
        "token-env": "T",
        "default-profile": "echo",
        "log-level": "warn",
        "log-format": "pretty",
      },
    });
    expect(config.server.address).toEqual({ hostname: "localhost", port: 9 });
    expect(config.runtime_id).toBe("rt-flag");
    expect(config.display_name).toBe("Flag");
    expect(config.store).toEqual({ kind: "memory", root: "/d", durability: "none" });
    expect(config.auth.token_env).toBe("T");
    expect(config.log).toEqual({ level: "warn", format: "pretty" });
    expect(load({ cwd: s.dir, flags: { "token-file": "/t" } }).auth.token_file).toBe("/t");
  });
});

describe("refused configurations name the key or flag (SPEC §11)", () => {
  test("unknown keys, top-level and nested: did you mean the close one, else the keys that exist there", () => {
    const top = s.write("top.toml", `bind = "127.0.0.1:1"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: top }))).toBe(
      `${top}: bind: unknown key (known here: runtime_id, display_name, default_profile, server, store, auth, log, limits, profiles, workspaces)`,
    );
    const nested = s.write("nested.toml", `[server]\nbnid = "127.0.0.1:1"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: nested }))).toBe(`${nested}: server.bnid: unknown key (did you mean "bind"?)`);
    const limits = s.write("limits.toml", `[limits]\nmax_worker = 1\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: limits }))).toBe(`${limits}: limits.max_worker: unknown key (did you mean "max_workers"?)`);
    const table = s.write("table.toml", `[sever]\nbind = "127.0.0.1:1"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: table }))).toBe(`${table}: sever: unknown key (did you mean "server"?)`);
    const far = s.write("far.toml", `[server]\nzzz = 1\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: far }))).toBe(`${far}: server.zzz: unknown key (known here: bind, metrics_bind)`);
  });

  test("wrong types and values", () => {
    const cases: [string, string, string][] = [
      [`[server]\nbind = 8080\n`, "server.bind", "must be a string (got 8080)"],
      [`[store]\nkind = "disk"\n`, "store.kind", `must be one of memory, fs (got "disk")`],
      [`[store]\ndurability = true\n`, "store.durability", `must be one of fsync, none (got true)`],
      [`[log]\nlevel = "verbose"\n`, "log.level", `must be one of silent, error, warn, info, debug (got "verbose")`],
      [`[limits]\nmax_workers = 1.5\n`, "limits.max_workers", "must be an integer (got 1.5)"],
      [`[limits]\nmax_body_bytes = 0\n`, "limits.max_body_bytes", "must be an integer >= 1 (got 0)"],
      [`[limits]\nmax_input_bytes = "1MB"\n`, "limits.max_input_bytes", `must be an integer (got "1MB")`],
      [`runtime_id = "../x"\n`, "runtime_id", `must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ (got "../x")`],
      [`display_name = "a\\u0007b"\n`, "display_name", "must match"],
      [`server = "x"\n`, "server", `must be a table (got "x")`],
      [`[auth]\ntoken_env = "MY TOKEN"\n`, "auth.token_env", "must match"],
      [`[store]\nroot = ""\n`, "store.root", "must not be empty"],
      [`[workspaces.app]\nrepo = 1\n`, "workspaces.app.repo", "must be a string (got 1)"],
      [`[workspaces.app]\nrepo = "r"\nkeep_branch_on_delete = "no"\n`, "workspaces.app.keep_branch_on_delete", "must be true or false (got \"no\")"],
      [`display_name = 1979-05-27\n`, "display_name", "must be a string (got a date)"],
    ];
    for (const [toml, key, message] of cases) {
      const file = s.write("bad.toml", toml);
      expect(configError(() => load({ cwd: s.dir, configFile: file }))).toStartWith(`${file}: ${key}: ${message}`);
    }
  });

  test("bad TOML syntax, with line and column", () => {
    const file = s.write("syntax.toml", `[server]\nbind = "127.0.0.1:1\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: file }))).toMatch(new RegExp(`^${escape(file)}:2:\\d+: invalid TOML: `));
    const duplicate = s.write("dup.toml", `display_name = "a"\ndisplay_name = "b"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: duplicate }))).toStartWith(`${duplicate}:2:1: invalid TOML: `);
    s.write(".yoi/runtime.toml", `[[[`);
    expect(configError(() => load({ cwd: s.dir }))).toStartWith(`${join(s.dir, ".yoi/runtime.toml")}:1:`);
  });

  test("a missing --config or $YOI_RUNTIME_CONFIG file (./.yoi/runtime.toml is optional)", () => {
    expect(configError(() => load({ cwd: s.dir, configFile: "nope.toml" }))).toBe(
      `--config: config file ${join(s.dir, "nope.toml")} does not exist`,
    );
    expect(configError(() => load({ cwd: s.dir, env: { YOI_RUNTIME_CONFIG: "/no/such.toml" } }))).toBe(
      "$YOI_RUNTIME_CONFIG: config file /no/such.toml does not exist",
    );
    expect(configError(() => load({ cwd: s.dir, configFile: "" }))).toStartWith("--config: ");
    expect(configError(() => load({ cwd: s.dir, configFile: s.dir }))).toBe(`--config: ${s.dir} is a directory, not a TOML file`);
  });

  test("bad flag values name the flag", () => {
    const cases: [Record<string, unknown>, string][] = [
      [{ store: "disk" }, `--store: must be one of memory, fs (got "disk")`],
      [{ durability: "always" }, `--durability: must be one of fsync, none (got "always")`],
      [{ "log-level": "loud" }, `--log-level: must be one of silent, error, warn, info, debug (got "loud")`],
      [{ "log-format": "xml" }, `--log-format: must be one of pretty, json (got "xml")`],
      [{ "runtime-id": "a/b" }, `--runtime-id: must match ^[A-Za-z0-9][A-Za-z0-9._-]*$ (got "a/b")`],
      [{ "token-env": "1X" }, `--token-env: must match`],
      [{ bind: "" }, "--bind: must not be empty"],
      [{ bind: "127.0.0.1" }, `--bind: expected HOST:PORT, got "127.0.0.1"`],
      [{ bind: "127.0.0.1:65536" }, `--bind: port must be an integer from 0 to 65535, got "65536"`],
      [{ bind: "127.0.0.1:http" }, `--bind: port must be an integer from 0 to 65535, got "http"`],
      [{ bind: "::1:80" }, "--bind: an IPv6 address needs brackets: [::1]:80"],
      [{ bind: "[::1]80" }, `--bind: expected [IPV6]:PORT, got "[::1]80"`],
      [{ bind: "[127.0.0.1]:80" }, `--bind: "127.0.0.1" is not an IPv6 address`],
      [{ bind: "bad host:80" }, `--bind: "bad host" is not a valid host name or IPv4 address`],
      [{ "default-profile": "missing" }, `--default-profile: no profile "missing" (configured: echo)`],
      [{ "token-env": "A", "token-file": "b" }, "--token-env: set either a token environment variable or a token file, not both"],
    ];
    for (const [flags, message] of cases) expect(configError(() => load({ cwd: s.dir, flags }))).toStartWith(message);
  });

  test("a bad bind in a file names the file and key", () => {
    const file = s.write("b.toml", `[server]\nbind = "nohost"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: file }))).toBe(`${file}: server.bind: expected HOST:PORT, got "nohost"`);
  });

  test("profiles are validated against their backend's settings", () => {
    const cases: [string, string][] = [
      [`[profiles.p]\ndelay_ms = 1\n`, "profiles.p.backend: is required"],
      [`[profiles.p]\nbackend = "nope"\n`, `profiles.p.backend: unknown backend "nope" (known: `],
      [`[profiles.p]\nbackend = "comand"\n`, `profiles.p.backend: unknown backend "comand" (did you mean "command"? known: `],
      // A typo of a required key is reported as the typo, not as the key it misses.
      [`[profiles.p]\nbackend = "command"\ncomand = ["cat"]\n`, `profiles.p.comand: unknown key (did you mean "command"?)`],
      [`[profiles.p]\nbackend = "openai"\nbase_url = "http://x"\nmodle = "m"\n`, `profiles.p.modle: unknown key (did you mean "model"?)`],
      [`[profiles.p]\nbackend = "echo"\ndelay_ms = "1"\n`, `profiles.p.delay_ms: must be an integer (got "1")`],
      [`[profiles.p]\nbackend = "echo"\ndelay = 1\n`, `profiles.p.delay: unknown key (did you mean "delay_ms"?)`],
      [`[profiles.p]\nbackend = "echo"\nzzz = 1\n`, "profiles.p.zzz: unknown key (known here: backend, capabilities, timeout_s, delay_ms)"],
      [`[profiles.p]\nbackend = "echo"\ncapabilities = "x"\n`, `profiles.p.capabilities: must be an array (got "x")`],
      [`[profiles.p]\nbackend = "echo"\ntimeout_s = -1\n`, "profiles.p.timeout_s: must be a number > 0 (got -1)"],
      [`profiles = 1\n`, "profiles: must be a table"],
      [`[profiles."a b"]\nbackend = "echo"\n`, "profiles.a b: a profile name must be 1-128 characters"],
      [`[profiles.echo]\nbackend = "nope"\n`, `profiles.echo.backend: unknown backend "nope"`],
    ];
    for (const [toml, message] of cases) {
      const file = s.write("p.toml", toml);
      expect(configError(() => load({ cwd: s.dir, configFile: file }))).toStartWith(`${file}: ${message}`);
    }
  });

  test("default_profile must name a configured profile; echo may be tuned but stays echo", () => {
    const file = s.write("d.toml", `default_profile = "fast"\n[profiles.slow]\nbackend = "echo"\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: file }))).toBe(
      `${file}: default_profile: no profile "fast" (configured: echo, slow)`,
    );
    const tuned = s.write("e.toml", `default_profile = "echo"\n[profiles.echo]\nbackend = "echo"\ndelay_ms = 1\n`);
    expect(load({ cwd: s.dir, configFile: tuned }).profiles.echo).toEqual({ backend: "echo", delay_ms: 1 });
  });

  test("the first problem is reported against the layer that has it", () => {
    s.write(".yoi/runtime.toml", `[store]\nkind = "fs"\n`);
    const file = s.write("c.toml", `[store]\nkind = 1\n`);
    expect(configError(() => load({ cwd: s.dir, configFile: file, flags: { store: "memory" } }))).toStartWith(`${file}: store.kind:`);
  });
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}
