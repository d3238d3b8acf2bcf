import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap, type RuntimeClient } from "../../src/client/index.ts";
import { cleanScratch, runCli, scratchDir, spawnCli, startServer, until, type Server } from "./helpers.ts";

/**
 * `send` input from stdin and files, and `send --wait` streaming, Ctrl-C and exit status, against
 * a real `serve` process. Profiles: `drip` writes one word and then never ends, `stubborn`
 * ignores SIGTERM (its cancel waits out a long kill grace), `late` outlives its timeout.
 */
const config = (dir: string) => `
[limits]
max_input_bytes = 64

[profiles.drip]
backend = "command"
command = ["sh", "-c", "printf 'first '; exec sleep 3600"]

[profiles.stubborn]
backend = "command"
command = ["sh", "-c", "trap '' TERM; echo $$ > '${dir}/stubborn.pid'; printf 'working '; while :; do sleep 1; done"]
kill_grace_ms = 600000

[profiles.late]
backend = "command"
command = ["sleep", "30"]
timeout_s = 0.2
`;

let server: Server;
let api: RuntimeClient;
let dir: string;

beforeAll(async () => {
  dir = scratchDir();
  writeFileSync(join(dir, "c.toml"), config(dir));
  server = await startServer(["serve", "--store", "memory", "--config", "c.toml"], { cwd: dir });
  api = createClient({ url: server.url });
});

afterAll(async () => {
  await server?.stop();
  cleanScratch();
});

const create = async (worker_id: string, profile?: string) =>
  void (await unwrap(api.v1.workers.post({ worker_id, profile: profile ? { kind: "named", value: profile } : { kind: "builtin", value: "echo" } })));
const transcript = async (worker_id: string) =>
  (await unwrap(api.v1.workers({ worker_id }).transcript.get())).transcript.items.map((item) => [item.role, item.content]);
const status = async (worker_id: string) => (await unwrap(api.v1.workers({ worker_id }).get())).worker.status;

describe("input from stdin and files", () => {
  test("`-` reads standard input to its end, line breaks and all", async () => {
    await create("in1");
    const result = await runCli(["send", "in1", "-", "--wait", "--url", server.url], { input: "line one\nline two\n" });
    expect(result.code).toBe(0);
    expect(result.stdout).toBe("line one\nline two\n");
    expect(await transcript("in1")).toEqual([
      ["user", "line one\nline two\n"],
      ["assistant", "line one\nline two\n"],
    ]);
  });

  test("--file reads a UTF-8 file", async () => {
    await create("in2");
    writeFileSync(join(dir, "input.txt"), "héllo\nwörld");
    const result = await runCli(["send", "in2", "--file", join(dir, "input.txt"), "--url", server.url]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^accepted by in2: run r-\S+, transcript #0, event #\d+\n$/);
    await until(async () => (await transcript("in2")).length === 2, "the reply");
    expect((await transcript("in2"))[0]).toEqual(["user", "héllo\nwörld"]);
  });

  test("input over the runtime's max_input_bytes is refused before it is sent", async () => {
    await create("in3");
    const big = "x".repeat(65);
    const result = await runCli(["send", "in3", "-", "--url", server.url], { input: big });
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: "yoi-runtime: payload_too_large: the input (standard input) is 65 bytes; the runtime accepts at most 64 (limits.max_input_bytes)\n",
    });
    // Exactly at the limit is fine.
    expect((await runCli(["send", "in3", "-", "--url", server.url], { input: "y".repeat(64) })).code).toBe(0);
    expect((await transcript("in3"))[0]).toEqual(["user", "y".repeat(64)]);
  });

  test("empty input, or input that is not UTF-8, is a command-line mistake (exit 2)", async () => {
    await create("in4");
    writeFileSync(join(dir, "latin1.txt"), new Uint8Array([0x63, 0x61, 0x66, 0xe9]));
    const cases: Array<[string[], string | undefined, string]> = [
      [["send", "in4", "-"], "", "the input is empty (standard input)"],
      [["send", "in4", "--file", join(dir, "latin1.txt")], undefined, `the input is not UTF-8 text (${join(dir, "latin1.txt")})`],
      [["send", "in4"], undefined, "the input is missing"],
    ];
    for (const [args, input, message] of cases) {
      const result = await runCli([...args, "--url", server.url], input === undefined ? {} : { input });
      expect({ code: result.code, stdout: result.stdout }).toEqual({ code: 2, stdout: "" });
      expect(result.stderr).toStartWith(`yoi-runtime: ${message}`);
      expect(result.stderr).toContain("usage: yoi-runtime send [OPTIONS] <WORKER> [TEXT]");
    }
    expect(await transcript("in4")).toEqual([]);
  });
});

describe("send --wait", () => {
  test("streams the reply while the run is active; Ctrl-C cancels the run and exits 1", async () => {
    await create("w1", "drip");
    const send = spawnCli(["send", "w1", "go", "--wait", "--url", server.url]);
    await until(() => send.stdout() === "first ", "the first delta");
    expect(await status("w1")).toBe("running");
    send.proc.kill("SIGINT");
    const result = await send.exited;
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("first \n");
    expect(result.stderr).toContain("[cancelling the run; Ctrl-C again to leave without waiting]\n");
    expect(result.stderr).toMatch(/^run r-\S+ cancelled in [\d.]+ m?s: cancelled: cancelled from send --wait \(Ctrl-C\)\n$/m);
    const { runs } = await unwrap(api.v1.workers({ worker_id: "w1" }).runs.get());
    expect(runs.map((run) => run.status)).toEqual(["cancelled"]);
    expect(await status("w1")).toBe("idle");
  });

  test("a second Ctrl-C leaves at once (exit 130) while the runtime goes on cancelling", async () => {
    await create("w2", "stubborn");
    const send = spawnCli(["send", "w2", "go", "--wait", "--url", server.url]);
    const pidFile = join(dir, "stubborn.pid");
    await until(() => send.stdout() === "working " && existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), "the run to be under way");
    send.proc.kill("SIGINT");
    await until(() => send.stderr().includes("[cancelling the run"), "the cancel to be under way");
    send.proc.kill("SIGINT");
    const result = await send.exited;
    expect(result.code).toBe(130);
    expect(result.stderr).toContain("[left the run; the runtime goes on cancelling it]");
    expect(await status("w2")).toBe("running");
    process.kill(-Number(readFileSync(pidFile, "utf8")), "SIGKILL");
    await until(async () => (await status("w2")) === "idle", "the run to end");
  });

  test("the exit status says how the run ended: 0 completed, 1 timed out", async () => {
    await create("w3");
    expect(await runCli(["send", "w3", "fine", "--wait", "--url", server.url])).toMatchObject({ code: 0, stdout: "fine\n" });
    await create("w4", "late");
    const late = await runCli(["send", "w4", "slow", "--wait", "--url", server.url]);
    expect(late.code).toBe(1);
    expect(late.stdout).toBe("");
    expect(late.stderr).toMatch(/^run r-\S+ timed_out in [\d.]+ m?s/);
    expect(late.stderr.split("\n").filter(Boolean)).toHaveLength(1);
  });
});
