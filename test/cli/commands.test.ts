import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "smol-toml";
import { VERSION } from "../../src/version.ts";
import { cleanScratch, runCli, scratchDir, startServer } from "./helpers.ts";

afterAll(cleanScratch);

/** Runs the CLI and asserts exit 2 with one message on stderr that contains `needle`, and nothing on stdout. */
async function refused(args: string[], needle: string, options: Parameters<typeof runCli>[1] = {}) {
  const result = await runCli(args, options);
  expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
  expect(result.stderr).toContain(needle);
  expect(result.stderr.startsWith("yoi-runtime: ")).toBe(true);
  return result.stderr;
}

describe("--version and --help", () => {
  test("--version prints the package version", async () => {
    for (const flag of ["--version", "-v"]) {
      expect(await runCli([flag])).toEqual({ code: 0, stdout: `${VERSION}\n`, stderr: "" });
    }
  });

  test("--help lists the commands; <command> --help lists its flags", async () => {
    const top = await runCli(["--help"]);
    expect(top.code).toBe(0);
    for (const name of ["serve", "config", "openapi"]) expect(top.stdout).toContain(name);
    const serve = await runCli(["serve", "--help"]);
    expect(serve.code).toBe(0);
    for (const flag of ["--bind", "--config", "--store", "--data-dir", "--durability", "--token-env", "--token-file", "--runtime-id", "--display-name", "--default-profile", "--log-level", "--log-format", "--allow-insecure-remote"]) {
      expect(serve.stdout).toContain(flag);
    }
    // Flags before --help do not matter; the default command's help is shown.
    const implicit = await runCli(["--bind", "127.0.0.1:0", "--help"]);
    expect(implicit).toEqual(serve);
  });

  test("help written to a pipe is plain text, even where colours are not switched off", async () => {
    const env = { CI: undefined, NO_COLOR: undefined, TEST: undefined, TERM: "xterm-256color" };
    for (const args of [["--help"], ["serve", "--help"]]) {
      const result = await runCli(args, { env });
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("USAGE");
      expect(result.stdout).not.toContain("\x1b[");
    }
  });
});

describe("refused command lines exit 2 naming the flag (SPEC §11)", () => {
  test("unknown flags, for the default command and each named one", async () => {
    expect(await refused(["--bnid", "127.0.0.1:0"], "unknown flag --bnid")).toContain("yoi-runtime serve");
    await refused(["serve", "--port=1"], "unknown flag --port");
    await refused(["config", "--verbose"], "unknown flag --verbose for `yoi-runtime config`");
    await refused(["openapi", "--bind", "x"], "unknown flag --bind for `yoi-runtime openapi` (it takes no flags)");
    await refused(["serve", "-x"], "unknown flag -x");
    await refused(["serve", "--no-bind"], "unknown flag --no-bind");
  });

  test("a value flag without its value (citty would take the next flag as the value)", async () => {
    await refused(["serve", "--bind"], "--bind needs a value");
    await refused(["serve", "--bind", "--store", "memory"], "--bind needs a value");
    await refused(["config", "--token-env"], "--token-env needs a value");
  });

  test("bad flag values", async () => {
    await refused(["serve", "--store", "disk"], `--store: must be one of memory, fs (got "disk")`);
    await refused(["serve", "--bind=localhost"], `--bind: expected HOST:PORT, got "localhost"`);
    await refused(["serve", "--bind", "127.0.0.1:70000"], "--bind: port must be an integer from 0 to 65535");
    await refused(["config", "--log-level", "chatty"], "--log-level: must be one of");
    await refused(["config", "--runtime-id", "../etc"], "--runtime-id: must match");
    await refused(["config", "--default-profile", "ghost"], `--default-profile: no profile "ghost"`);
    await refused(["config", "--allow-insecure-remote=maybe"], "--allow-insecure-remote takes no value");
  });

  test("unknown commands and stray arguments", async () => {
    await refused(["srve"], `unknown command "srve"`);
    await refused(["serve", "now"], `unexpected argument "now" for \`yoi-runtime serve\``);
    await refused(["config", "--store", "memory", "extra"], `unexpected argument "extra"`);
  });

  // Refusals of config files, token sources and the host: test/cli/config-parity.test.ts (serve and config alike).

  test("a non-loopback bind without a token is refused before anything starts", async () => {
    const stderr = await refused(["serve", "--store", "memory", "--bind", "0.0.0.0:0"], "refusing to listen on 0.0.0.0:0 without a token");
    expect(stderr).toContain("--allow-insecure-remote");
    await refused(["serve", "--store", "memory", "--bind", "[::]:0"], "refusing to listen on [::]:0 without a token");
    // Accepted with the explicit opt-out or a token (shown with `config`, which runs the same checks).
    expect((await runCli(["config", "--bind", "0.0.0.0:0", "--allow-insecure-remote"])).code).toBe(0);
    expect((await runCli(["config", "--bind", "0.0.0.0:0", "--token-env", "TOK"], { env: { TOK: "t0ken-value" } })).code).toBe(0);
  });
});

describe("config", () => {
  test("prints the resolved config as TOML; the token value never appears", async () => {
    const token = "tok-3c1f0d9a-very-secret";
    const cwd = scratchDir();
    writeFileSync(
      join(cwd, "c.toml"),
      [
        `display_name = "from file"`,
        `[limits]`,
        `max_workers = 7`,
        `[profiles.slow]`,
        `backend = "echo"`,
        `delay_ms = 10`,
      ].join("\n"),
    );
    const result = await runCli(["config", "--config", "c.toml", "--token-env", "MY_TOKEN", "--store", "memory", "--log-level", "debug"], {
      cwd,
      env: { MY_TOKEN: token },
    });
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    expect(result.stdout).not.toContain(token);
    expect(result.stdout).toContain("# auth: a bearer token is configured (read from $MY_TOKEN); its value is never printed");
    const document = parse(result.stdout) as Record<string, any>;
    expect(document.display_name).toBe("from file");
    expect(document.auth).toEqual({ token_env: "MY_TOKEN" });
    expect(document.store.kind).toBe("memory");
    expect(document.log).toEqual({ level: "debug", format: "json" });
    expect(document.limits.max_workers).toBe(7);
    expect(document.profiles).toEqual({ slow: { backend: "echo", delay_ms: 10 } });
  });

  test("a token file is named, its content never printed", async () => {
    const cwd = scratchDir();
    writeFileSync(join(cwd, "token"), "file-token-b9e2\n");
    const result = await runCli(["config", "--token-file", "token"], { cwd });
    expect(result.code).toBe(0);
    expect(result.stdout).not.toContain("file-token-b9e2");
    expect((parse(result.stdout) as Record<string, any>).auth).toEqual({ token_file: join(cwd, "token") });
  });

  test("environment precedence: $YOI_RUNTIME_CONFIG is applied under flags", async () => {
    const cwd = scratchDir();
    writeFileSync(join(cwd, "env.toml"), `display_name = "env"\n[server]\nbind = "127.0.0.1:9"\n`);
    const result = await runCli(["config", "--display-name", "flag"], { cwd, env: { YOI_RUNTIME_CONFIG: "env.toml" } });
    const document = parse(result.stdout) as Record<string, any>;
    expect(document.display_name).toBe("flag");
    expect(document.server.bind).toBe("127.0.0.1:9");
  });
});

describe("openapi", () => {
  test("prints the OpenAPI 3.1 document as JSON without listening", async () => {
    const result = await runCli(["openapi"]);
    expect(result.code).toBe(0);
    const document = JSON.parse(result.stdout);
    expect(document.openapi).toBe("3.1.0");
    expect(document.info.version).toBe(VERSION);
    for (const path of ["/v1/runtime", "/v1/workers", "/v1/workers/{worker_id}/input", "/healthz"]) {
      expect(Object.keys(document.paths)).toContain(path);
    }
    expect(result.stderr).toBe("");
  });

  test("is the document a running server serves, whichever routes it answered before", async () => {
    const printed = JSON.parse((await runCli(["openapi"])).stdout);
    const server = await startServer(["--store", "memory"]);
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      expect((await post("/v1/workers", { worker_id: "w" })).status).toBe(201);
      expect((await post("/v1/workers/w/input?wait=5", { kind: "user", content: "hi" })).status).toBe(200);
      for (const path of ["/v1/runtime", "/v1/workers", "/v1/workers/w", "/v1/workers/w/transcript", "/v1/workers/w/runs", "/v1/events", "/v1/diagnostics"]) {
        expect((await fetch(`${server.url}${path}`)).status).toBe(200);
      }
      expect(await (await fetch(`${server.url}/openapi.json`)).json()).toEqual(printed);
    } finally {
      await server.stop();
    }
  });
});
