import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLI, REPO, cleanScratch, scratchDir, startServer } from "../cli/helpers.ts";

/**
 * The command backend under Deno, which has no `Bun.spawn`: runs go through `node:child_process`
 * (issue 16 gave Bun a native spawn path; this keeps the other one working end to end).
 */
const deno = join(REPO, "node_modules/.bin/deno");

afterAll(cleanScratch);

describe.skipIf(!existsSync(deno))("command runs under Deno (`deno run -A cli.ts`)", () => {
  test("stdin in, stdout out; a failing program reports its status and stderr", async () => {
    const cwd = scratchDir();
    writeFileSync(
      join(cwd, "runtime.toml"),
      [
        `[profiles.cat]\nbackend = "command"\ncommand = ["/bin/cat"]\n`,
        `[profiles.fail]\nbackend = "command"\ncommand = ["/bin/sh", "-c", "echo out; echo oops >&2; exit 3"]\n`,
      ].join("\n"),
    );
    const server = await startServer(["serve", "--store", "memory", "--config", "runtime.toml"], { cwd, command: [deno, "run", "-A", CLI] });
    try {
      const post = (path: string, body: unknown) =>
        fetch(`${server.url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
      for (const [worker, profile] of [["c", "cat"], ["f", "fail"]]) {
        expect((await post("/v1/workers", { worker_id: worker, profile: { kind: "named", value: profile } })).status).toBe(201);
      }
      const cat = (await (await post("/v1/workers/c/input?wait=20", { kind: "user", content: "from deno's cat" })).json()) as any;
      expect(cat.run.status).toBe("completed");
      const transcript = (await (await fetch(`${server.url}/v1/workers/c/transcript?tail=1`)).json()) as any;
      expect(transcript.transcript.items[0].content).toBe("from deno's cat");

      const fail = (await (await post("/v1/workers/f/input?wait=20", { kind: "user", content: "x" })).json()) as any;
      expect(fail.run).toMatchObject({ status: "failed", error: { code: "exit_code", details: { exit_code: 3, stderr_tail: "oops" } } });
    } finally {
      await server.stop("SIGTERM");
    }
  });
});
