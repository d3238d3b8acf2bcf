import { afterAll, describe, expect, test } from "bun:test";
import { CLI, cleanScratch, runCli } from "./helpers.ts";
import { join } from "node:path";

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
