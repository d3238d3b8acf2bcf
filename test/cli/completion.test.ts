import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap } from "../../src/client/index.ts";
import { CLI, cleanScratch, runCli, scratchDir, startServer, type Server } from "./helpers.ts";

/**
 * `completion bash|zsh|fish` prints scripts that ask `yoi-runtime __complete` for candidates. The
 * bash script is loaded into a real bash with `yoi-runtime` on PATH (a wrapper around `bun cli.ts`)
 * and asked to complete commands, flags, flag values and worker ids of a running runtime.
 */
let server: Server;
let bin: string;

beforeAll(async () => {
  server = await startServer(["serve", "--store", "memory"]);
  const api = createClient({ url: server.url });
  for (const worker_id of ["alpha", "alpine", "beta"]) await unwrap(api.v1.workers.post({ worker_id }));
  bin = scratchDir();
  writeFileSync(join(bin, "yoi-runtime"), `#!/bin/sh\nexec "${process.execPath}" "${CLI}" "$@"\n`);
  chmodSync(join(bin, "yoi-runtime"), 0o755);
});

afterAll(async () => {
  await server?.stop();
  cleanScratch();
});

/** Loads the bash script and completes `line` (the cursor at its end) as bash would; the candidates. */
async function completeInBash(script: string, words: string[]): Promise<string[]> {
  const file = join(bin, "completion.bash");
  writeFileSync(file, script);
  const program = [
    `source ${JSON.stringify(file)}`,
    `COMP_WORDS=(${["yoi-runtime", ...words].map((word) => `'${word}'`).join(" ")})`,
    `COMP_CWORD=${words.length}`,
    "_yoi_runtime",
    `printf '%s\\n' "\${COMPREPLY[@]}"`,
  ].join("\n");
  const proc = Bun.spawn(["bash", "-c", program], {
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME ?? "/", YOI_RUNTIME_URL: server.url },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  expect({ code, stderr }).toEqual({ code: 0, stderr: "" });
  return stdout.split("\n").filter(Boolean);
}

describe("completion", () => {
  test("bash: the script parses (bash -n) and completes commands, flags, values and worker ids", async () => {
    const { code, stdout: script } = await runCli(["completion", "bash"]);
    expect(code).toBe(0);
    const file = join(bin, "check.bash");
    writeFileSync(file, script);
    const syntax = Bun.spawnSync(["bash", "-n", file]);
    expect({ code: syntax.exitCode, stderr: syntax.stderr.toString() }).toEqual({ code: 0, stderr: "" });

    expect(await completeInBash(script, ["wor"])).toEqual(["workers"]);
    expect(await completeInBash(script, ["workers", "s"])).toEqual(["show", "stop"]);
    expect(await completeInBash(script, ["workers", "list", "--st"])).toEqual(["--status"]);
    expect(await completeInBash(script, ["workers", "list", "--status", ""])).toEqual(["idle", "running", "stopped", "unavailable"]);
    // Worker ids come from the running runtime ($YOI_RUNTIME_URL).
    expect(await completeInBash(script, ["workers", "show", "al"])).toEqual(["alpha", "alpine"]);
    expect(await completeInBash(script, ["send", ""])).toEqual(["alpha", "alpine", "beta"]);
    expect(await completeInBash(script, ["tail", "--worker", "b"])).toEqual(["beta"]);
    // The hidden helper is not offered.
    expect(await completeInBash(script, ["__"])).toEqual([]);
  });

  test("with no runtime reachable, worker ids are simply not offered", async () => {
    const result = await runCli(["__complete", "--", "workers", "show", ""], { env: { YOI_RUNTIME_URL: "http://127.0.0.1:9" } });
    expect(result).toEqual({ code: 0, stdout: "", stderr: "" });
  });

  test("zsh and fish scripts call the same helper", async () => {
    for (const shell of ["zsh", "fish"]) {
      const result = await runCli(["completion", shell]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain("yoi-runtime __complete --");
    }
    expect((await runCli(["completion", "zsh"])).stdout).toStartWith("#compdef yoi-runtime\n");
    expect((await runCli(["completion", "fish"])).stdout).toContain("complete -c yoi-runtime -f -a '(__yoi_runtime_complete)'");
  });
});
