import { afterAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, cleanScratch, runCli, scratchDir, startServer } from "./helpers.ts";

afterAll(cleanScratch);

/**
 * `--version` and the client commands load no server, store or Elysia code: each command is
 * imported when it runs (issue 16). The CLI runs with a preload that fails any such load.
 */
const guard = join(import.meta.dir, "fixtures", "forbid-server.ts");
const guarded = (args: string[]) => runCli(args, { command: [process.execPath, "--preload", guard, CLI] });
/** Nothing listens here: client commands fail to connect (exit 1), after loading all they need. */
const NOWHERE = "http://127.0.0.1:9";

describe("client commands and --version load no server, store or Elysia code", () => {
  test("--version and version", async () => {
    for (const args of [["--version"], ["version"]]) {
      const result = await guarded(args);
      expect(result.stderr).not.toContain("FORBIDDEN_LOAD");
      expect(result.code).toBe(0);
    }
  });

  test("every client command, up to its request", async () => {
    const commands = [
      ["status"],
      ["profiles"],
      ["workers", "list"],
      ["workers", "show", "w"],
      ["workers", "create"],
      ["send", "w", "hi"],
      ["send", "w", "hi", "--wait"],
      ["chat", "w"],
      ["transcript", "w"],
      ["runs", "w"],
      ["run", "w", "r-1"],
      ["events"],
      ["tail"],
      ["diagnostics"],
    ];
    for (const args of commands) {
      const result = await guarded([...args, "--url", NOWHERE]);
      expect({ args, forbidden: result.stderr.includes("FORBIDDEN_LOAD") }).toEqual({ args, forbidden: false });
      expect({ args, code: result.code }).toEqual({ args, code: 1 });
      expect(result.stderr).toContain("connection refused");
    }
  });

  test("control: the guard stops a command that needs the server", async () => {
    const result = await guarded(["openapi"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("FORBIDDEN_LOAD");
  });
});

/**
 * `serve` starts without what its first requests do not need (issue 16): the ACP SDK (and zod)
 * load with the first ACP run, the client commands never. Checked with a preload that fails any
 * such load, while the server answers /healthz, /readyz and the OpenAPI document.
 */
const serveGuard = join(import.meta.dir, "fixtures", "forbid-unused-by-serve.ts");

describe("serve loads only what it uses", () => {
  test("with command and acp profiles configured, start and first requests load no ACP SDK, zod or client command", async () => {
    const cwd = scratchDir();
    writeFileSync(
      join(cwd, "c.toml"),
      `[profiles.cat]\nbackend = "command"\ncommand = ["/bin/cat"]\n\n[profiles.agent]\nbackend = "acp"\ncommand = ["/bin/false"]\n`,
    );
    const server = await startServer(["serve", "--config", "c.toml", "--store", "memory", "--log-format", "json"], {
      cwd,
      command: [process.execPath, "--preload", serveGuard, CLI],
    });
    try {
      for (const path of ["/healthz", "/readyz", "/openapi.json", "/v1/runtime"]) {
        const response = await fetch(`${server.url}${path}`);
        expect({ path, status: response.status }).toEqual({ path, status: 200 });
        await response.arrayBuffer();
      }
      const created = await fetch(`${server.url}/v1/workers`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ worker_id: "c", profile: { kind: "named", value: "cat" } }),
      });
      expect(created.status).toBe(201);
      const ran = await fetch(`${server.url}/v1/workers/c/input?wait=30`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ kind: "user", content: "hi" }),
      });
      expect(((await ran.json()) as { run: { status: string } }).run.status).toBe("completed");
    } finally {
      const result = await server.stop();
      expect(result.stderr).not.toContain("FORBIDDEN_LOAD");
      expect(result.code).toBe(0);
    }
  });

  test("control: the guard stops the ACP SDK when something loads it", async () => {
    const proc = Bun.spawn(
      [process.execPath, "--preload", serveGuard, "-e", `await (await import(${JSON.stringify(join(import.meta.dir, "../../src/execution/acp/sdk.ts"))})).loadAcpSdk()`],
      { stdout: "pipe", stderr: "pipe" },
    );
    const [stderr, code] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
    expect(code).not.toBe(0);
    expect(stderr).toContain("FORBIDDEN_LOAD");
  });
});
