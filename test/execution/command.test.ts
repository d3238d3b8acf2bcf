import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, realpathSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { FsStore, MemoryStore, RuntimeError, type Runtime, type RuntimeStore } from "../../src/index.ts";
import { DeltaLog, Scratch, finish, isRunning, lastAssistant, openRuntime, startRun, until, withEnv } from "./helpers.ts";

let s: Scratch;
let runtime: Runtime | null = null;

beforeEach(() => {
  s = new Scratch();
});

afterEach(async () => {
  await runtime?.close();
  runtime = null;
  s.remove();
});

/** Opens a runtime whose default profile runs `command` with extra settings. */
async function commandRuntime(command: string[], settings: Record<string, unknown> = {}): Promise<Runtime> {
  runtime = await openRuntime({ cmd: { backend: "command", command, ...settings } });
  return runtime;
}

/**
 * A shell loop that holds until the test touches `release`: the moment a survivor of its run would
 * write its marker. Bounded (~30 s) so that a survivor of a failed test does not loop for ever.
 */
function untilReleased(): string {
  return `i=0; until [ -e ${s.path("release")} ] || [ $i -ge 1500 ]; do sleep 0.02; i=$((i+1)); done`;
}

/** Writes `value` to the pid file `name` under a temp name and renames it: a pid file that exists is complete. */
function writePid(value: string, name: string): string {
  return `echo ${value} > ${s.path(`${name}.tmp`)}; mv ${s.path(`${name}.tmp`)} ${s.path(name)}`;
}

/** A script that records its pid and a background grandchild's pid; both would write a marker once released. */
function stubbornScript(options: { ignoreTerm?: boolean } = {}): string {
  return s.script(
    "stubborn.sh",
    [
      options.ignoreTerm ? "trap '' TERM" : "",
      writePid("$$", "leader.pid"),
      // The grandchild inherits the ignored TERM disposition too.
      `(${untilReleased()}; touch ${s.path("grandchild-marker")}) &`,
      writePid("$!", "grandchild.pid"),
      "echo started",
      `${untilReleased()}; touch ${s.path("leader-marker")}`,
      "wait",
    ].join("\n"),
  );
}

async function expectAllGone(pids: number[]): Promise<void> {
  expect(pids.length).toBeGreaterThan(0);
  // Checked at once, without polling: the run ended only after its processes did.
  for (const pid of pids) expect({ pid, running: isRunning(pid) }).toEqual({ pid, running: false });
}

/**
 * Releases whatever survived and checks that nothing wrote its marker. A witness process runs the
 * survivors' own loop and writes its marker one poll period after it saw the release: by then a
 * survivor would have written its marker too.
 */
async function expectNoMarkers(): Promise<void> {
  const witness = spawn("/bin/sh", ["-c", `${untilReleased()}; sleep 0.02; touch ${s.path("witness-marker")}`], { stdio: "ignore" });
  try {
    s.touch("release");
    await until(() => s.exists("witness-marker"), "the witness to see the release");
  } finally {
    witness.kill("SIGKILL");
  }
  expect(s.exists("grandchild-marker")).toBe(false);
  expect(s.exists("leader-marker")).toBe(false);
}

describe("command backend: output", () => {
  test("stdout streams as deltas in order, while the program still runs", async () => {
    const script = s.script(
      "stream.sh",
      [
        "echo first",
        // Holds until the test saw the first delta: proves output arrives before the exit.
        `while [ ! -e ${s.path("go")} ]; do sleep 0.01; done`,
        "echo second",
        "echo third",
      ].join("\n"),
    );
    const rt = await commandRuntime([script]);
    const { worker_ref } = await rt.createWorker({});
    const log = new DeltaLog(rt, worker_ref.worker_id);
    const { run_id } = await startRun(rt, "go", worker_ref);
    await until(() => log.deltas.join("").includes("first\n"), "the first delta");
    expect((await rt.getRun(worker_ref, run_id)).status).toBe("running");
    s.touch("go");
    const run = await finish(rt, worker_ref, run_id);
    await log.finished();
    expect(run).toMatchObject({ status: "completed", error: null, partial: false, output_sequence: 1 });
    expect(log.deltas.join("")).toBe("first\nsecond\nthird\n");
    expect(log.deltas[0]).toBe("first\n");
    expect(await lastAssistant(rt, worker_ref)).toMatchObject({ role: "assistant", content: "first\nsecond\nthird\n", partial: false });
  });

  test("a multibyte character split across writes arrives intact", async () => {
    // "é" is C3 A9; the two bytes are written separately, with a pause the test controls between them.
    const script = s.script(
      "split.sh",
      [`printf 'a\\303'`, `while [ ! -e ${s.path("go")} ]; do sleep 0.01; done`, `printf '\\251b\\360\\237'`, `printf '\\214\\215'`].join("\n"),
    );
    const rt = await commandRuntime([script]);
    const { worker_ref } = await rt.createWorker({});
    const log = new DeltaLog(rt, worker_ref.worker_id);
    const { run_id } = await startRun(rt, "go", worker_ref);
    await until(() => log.deltas.length > 0, "the first delta");
    s.touch("go");
    expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
    await log.finished();
    expect(log.deltas[0]).toBe("a");
    expect(log.deltas.join("")).toBe("aéb🌍");
    for (const delta of log.deltas) expect(delta).not.toContain("\uFFFD");
  });

  test("input goes to stdin by default", async () => {
    const rt = await commandRuntime(["/bin/cat"]);
    const input = "line one\nzwei — drei ✓\n";
    const { worker_ref, run_id } = await startRun(rt, input);
    expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
    expect((await lastAssistant(rt, worker_ref))!.content).toBe(input);
  });

  test('"{input}" passes the input as one argument, never through a shell', async () => {
    const script = s.script("args.sh", `for a in "$@"; do printf '[%s]' "$a"; done`);
    const rt = await commandRuntime([script, "--prompt={input}", "{input}", "tail"]);
    const input = `two words $(touch ${s.path("injected")}) 'q' "d" ; echo no`;
    const { worker_ref, run_id } = await startRun(rt, input);
    expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
    expect((await lastAssistant(rt, worker_ref))!.content).toBe(`[--prompt=${input}][${input}][tail]`);
    expect(s.exists("injected")).toBe(false);
  });

  test('input = "arg" without a placeholder appends the input as the last argument; stdin is then empty', async () => {
    const script = s.script("last.sh", `printf '%s|' "$@"; cat; echo end`);
    const rt = await commandRuntime([script, "first"], { input: "arg" });
    const { worker_ref, run_id } = await startRun(rt, "the input");
    expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
    expect((await lastAssistant(rt, worker_ref))!.content).toBe("first|the input|end\n");
  });

  test('input = "stdin" with a placeholder in the command is refused at open, naming the key', async () => {
    const error = await openRuntime({ bad: { backend: "command", command: ["/bin/echo", "{input}"], input: "stdin" } }).catch((e) => e);
    expect(error).toBeInstanceOf(RuntimeError);
    expect(error.code).toBe("invalid_request");
    expect(error.message).toContain("profiles.bad.input");
  });

  test("output past max_output_bytes fails output_too_large, keeps output up to the cap marked partial, and stops the program", async () => {
    const script = s.script("flood.sh", `echo $$ > ${s.path("leader.pid")}\nwhile :; do printf 'é0123456789'; done`);
    // 1001 falls inside a two-byte character: the cut keeps only whole characters.
    const rt = await commandRuntime([script], { max_output_bytes: 1001 });
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", partial: true, error: { code: "output_too_large", details: { max_output_bytes: 1001 } } });
    expect(run.error!.message).toContain("max_output_bytes");
    const entry = (await lastAssistant(rt, worker_ref))!;
    expect(entry).toMatchObject({ role: "assistant", partial: true, run_id });
    const expected = "é0123456789".repeat(100); // 1200 bytes would exceed; 83 whole repeats = 996 bytes, then "é012"
    const bytes = Buffer.from(entry.content, "utf8");
    expect(bytes.length).toBeLessThanOrEqual(1001);
    expect(bytes.length).toBeGreaterThanOrEqual(1000);
    expect(expected.startsWith(entry.content)).toBe(true);
    expect(entry.content).not.toContain("\uFFFD");
    await expectAllGone(s.pids("leader.pid"));
    expect((await rt.getWorker(worker_ref)).status).toBe("idle");
  });

  test("exactly max_output_bytes is still a complete run", async () => {
    const rt = await commandRuntime(["/bin/cat"], { max_output_bytes: 5 });
    const { worker_ref, run_id } = await startRun(rt, "12345");
    expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
    expect((await lastAssistant(rt, worker_ref))!.content).toBe("12345");
  });
});

describe("command backend: failures", () => {
  test("a non-zero exit fails with the exit code and the tail of stderr; output is kept partial", async () => {
    const script = s.script(
      "fail.sh",
      ["echo partial output", "i=0; while [ $i -lt 200 ]; do echo 'noise noise noise noise noise' >&2; i=$((i+1)); done", "echo 'the real reason ✗' >&2", "exit 7"].join(
        "\n",
      ),
    );
    const rt = await commandRuntime([script]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", partial: true, error: { code: "exit_code", details: { exit_code: 7, signal: null } } });
    expect(run.error!.message).toContain("status 7");
    expect(run.error!.message).toContain("the real reason ✗");
    const tail = (run.error!.details as { stderr_tail: string }).stderr_tail;
    expect(tail.endsWith("the real reason ✗")).toBe(true);
    expect(Buffer.byteLength(tail)).toBeLessThanOrEqual(2048);
    expect(Buffer.byteLength(tail)).toBeGreaterThan(1000);
    expect(tail).not.toContain("\uFFFD");
    expect((await lastAssistant(rt, worker_ref))!).toMatchObject({ content: "partial output\n", partial: true });
    const diagnostic = (await rt.diagnostics()).find((d) => d.code === "run_failed" && d.run_id === run_id);
    expect(diagnostic?.message).toContain("status 7");
    expect((await rt.getWorker(worker_ref)).status).toBe("idle");
  });

  test("exit without stderr names just the status", async () => {
    const rt = await commandRuntime(["/bin/sh", "-c", "exit 3"]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", partial: false, output_sequence: null, error: { code: "exit_code", message: "the command exited with status 3" } });
  });

  test("a program killed by a signal of its own fails command_failed naming the signal", async () => {
    const rt = await commandRuntime(["/bin/sh", "-c", "kill -KILL $$"]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", error: { code: "command_failed", details: { exit_code: null, signal: "SIGKILL" } } });
    expect(run.error!.message).toContain("SIGKILL");
  });

  test("a program that does not exist fails spawn_failed with a clear message; the worker takes input again", async () => {
    const missing = s.path("no-such-program");
    const rt = await commandRuntime([missing, "{input}"]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", error: { code: "spawn_failed", details: { errno: "ENOENT", program: missing } } });
    expect(run.error!.message).toContain(missing);
    expect(run.error!.message).toContain("no such file");
    const again = await rt.sendInput(worker_ref, { kind: "user", content: "again" });
    expect((await finish(rt, worker_ref, again.run_id!)).error?.code).toBe("spawn_failed");
  });

  test("a file that is not executable fails spawn_failed", async () => {
    const file = s.path("plain.txt");
    s.touch("plain.txt");
    const rt = await commandRuntime([file]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "failed", error: { code: "spawn_failed", details: { errno: "EACCES" } } });
  });

  test("settings are validated strictly when the runtime opens", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ command: [] }, "profiles.p.command"],
      [{ command: ["/bin/true"], shell: true }, "profiles.p"],
      [{ command: "/bin/true" }, "profiles.p.command"],
      [{ command: ["/bin/true"], input: "file" }, "profiles.p.input"],
      [{ command: ["/bin/true"], env: { "BAD-NAME": "x" } }, "profiles.p.env"],
      [{ command: ["/bin/true"], env: { GOOD: 1 } }, "profiles.p.env.GOOD"],
      [{ command: ["/bin/true"], max_output_bytes: 0 }, "profiles.p.max_output_bytes"],
      [{ command: ["/bin/true"], kill_grace_ms: -1 }, "profiles.p.kill_grace_ms"],
    ];
    for (const [settings, key] of cases) {
      const error = await openRuntime({ p: { backend: "command", ...settings } }).catch((e) => e);
      expect(error).toBeInstanceOf(RuntimeError);
      expect(error.code).toBe("invalid_request");
      expect(error.message).toContain(key);
    }
  });
});

describe("command backend: stopping runs kills the whole process group", () => {
  test("cancel kills the program and its grandchild before the run is reported cancelled; no marker is ever written", async () => {
    const rt = await commandRuntime([stubbornScript()]);
    const { worker_ref } = await rt.createWorker({});
    const log = new DeltaLog(rt, worker_ref.worker_id);
    const { run_id } = await startRun(rt, "go", worker_ref);
    await until(() => log.deltas.join("").includes("started") && s.exists("grandchild.pid"), "the script to start");
    const ack = await rt.cancelRun(worker_ref, "enough");
    expect(ack.cancelled_run_id).toBe(run_id);
    await expectAllGone(s.pids("leader.pid", "grandchild.pid"));
    const run = await rt.getRun(worker_ref, run_id);
    expect(run).toMatchObject({ status: "cancelled", partial: true, error: { code: "cancelled", message: "enough" } });
    expect((await lastAssistant(rt, worker_ref))!).toMatchObject({ content: "started\n", partial: true });
    expect((await rt.getWorker(worker_ref)).status).toBe("idle");
    await expectNoMarkers();
  });

  test("a program that ignores SIGTERM is SIGKILLed after kill_grace_ms, grandchild included", async () => {
    const rt = await commandRuntime([stubbornScript({ ignoreTerm: true })], { kill_grace_ms: 100 });
    const { worker_ref, run_id } = await startRun(rt);
    await until(() => s.exists("grandchild.pid") && readFileSync(s.path("grandchild.pid"), "utf8").trim() !== "", "the script to start");
    await rt.cancelRun(worker_ref);
    await expectAllGone(s.pids("leader.pid", "grandchild.pid"));
    expect((await rt.getRun(worker_ref, run_id)).status).toBe("cancelled");
    await expectNoMarkers();
  });

  test("stop kills the group, cancels the run and stops the worker", async () => {
    const rt = await commandRuntime([stubbornScript()]);
    const { worker_ref, run_id } = await startRun(rt);
    await until(() => s.exists("grandchild.pid") && s.exists("leader.pid"), "the script to start");
    const ack = await rt.stopWorker(worker_ref, "done for today");
    expect(ack).toMatchObject({ status: "stopped", cancelled_run_id: run_id });
    await expectAllGone(s.pids("leader.pid", "grandchild.pid"));
    expect((await rt.getRun(worker_ref, run_id)).status).toBe("cancelled");
    await expectNoMarkers();
  });

  test("timeout_s ends the run timed_out and kills the group", async () => {
    const rt = await commandRuntime([stubbornScript()], { timeout_s: 0.3 });
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run).toMatchObject({ status: "timed_out", error: { code: "timed_out" } });
    // The run may time out before the script wrote its pid files; then it never started them either.
    const pids = ["leader.pid", "grandchild.pid"].filter((f) => s.exists(f)).flatMap((f) => s.pids(f));
    for (const pid of pids) expect(isRunning(pid)).toBe(false);
    await expectNoMarkers();
  });

  test("closing the runtime interrupts the run and kills the group before close resolves", async () => {
    const rt = await commandRuntime([stubbornScript()]);
    const { worker_ref, run_id } = await startRun(rt);
    await until(() => s.exists("grandchild.pid") && s.exists("leader.pid"), "the script to start");
    const done = rt.waitRun(worker_ref, run_id, 60_000);
    await rt.close();
    runtime = null;
    await expectAllGone(s.pids("leader.pid", "grandchild.pid"));
    expect((await done).status).toBe("interrupted");
    await expectNoMarkers();
  });

  test("background processes a program leaves behind end with its run, even after exit 0", async () => {
    const script = s.script(
      "leave-behind.sh",
      [`sleep 30 > /dev/null 2>&1 &`, `echo $! > ${s.path("background.pid")}`, `(${untilReleased()}; touch ${s.path("grandchild-marker")}) &`, `echo $! >> ${s.path("background.pid")}`, "echo bye"].join(
        "\n",
      ),
    );
    const rt = await commandRuntime([script]);
    const { worker_ref, run_id } = await startRun(rt);
    const run = await finish(rt, worker_ref, run_id);
    expect(run.status).toBe("completed");
    expect((await lastAssistant(rt, worker_ref))!.content).toBe("bye\n");
    await expectAllGone(s.pids("background.pid"));
    await expectNoMarkers();
  });
});

describe("command backend: environment and working directory", () => {
  test("the child sees only PATH, HOME, LANG, the profile's env and the run context (YOI_*)", async () => {
    await withEnv({ YOI_TEST_PARENT_SECRET: "must-not-leak", LANG: "C.UTF-8", HOME: "/home/test-home" }, async () => {
      const rt = await commandRuntime(["/usr/bin/env"], { env: { PROFILE_VAR: "from profile", HOME: "/profile/home" } });
      const { worker_ref, run_id } = await startRun(rt);
      expect((await finish(rt, worker_ref, run_id)).status).toBe("completed");
      const lines = (await lastAssistant(rt, worker_ref))!.content.trim().split("\n");
      const env = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf("=")), line.slice(line.indexOf("=") + 1)]));
      expect(env.PROFILE_VAR).toBe("from profile");
      expect(env.HOME).toBe("/profile/home");
      expect(env.LANG).toBe("C.UTF-8");
      expect(env.PATH).toBe(process.env.PATH);
      expect(env.YOI_TEST_PARENT_SECRET).toBeUndefined();
      expect(Object.keys(env).sort()).toEqual([
        "HOME", "LANG", "PATH", "PROFILE_VAR",
        "YOI_RUNTIME_ID", "YOI_RUN_ID", "YOI_RUN_NUMBER", "YOI_SESSION_ID", "YOI_WORKER_ID", "YOI_WORKSPACE",
      ]);
    });
  });

  test("without a store directory each worker gets its own temporary cwd, kept across runs and removed on close", async () => {
    const rt = await commandRuntime(["/bin/pwd"]);
    const first = await startRun(rt);
    await finish(rt, first.worker_ref, first.run_id);
    const dirA = (await lastAssistant(rt, first.worker_ref))!.content.trim();
    const again = await rt.sendInput(first.worker_ref, { kind: "user", content: "again" });
    await finish(rt, first.worker_ref, again.run_id!);
    const dirA2 = (await lastAssistant(rt, first.worker_ref))!.content.trim();
    const second = await startRun(rt);
    await finish(rt, second.worker_ref, second.run_id);
    const dirB = (await lastAssistant(rt, second.worker_ref))!.content.trim();
    expect(dirA2).toBe(dirA);
    expect(dirB).not.toBe(dirA);
    expect(dirA.startsWith(realpathSync(tmpdir()))).toBe(true);
    expect(dirA.endsWith(first.worker_ref.worker_id)).toBe(true);
    expect(existsSync(dirA)).toBe(true);
    await rt.close();
    runtime = null;
    expect(existsSync(dirA)).toBe(false);
    expect(existsSync(dirB)).toBe(false);
  });

  test("with a store directory the cwd is the worker's directory under it, created on first use", async () => {
    const root = s.path("data");
    // A store that keeps files: the fs store's layout (SPEC §8), over memory for everything else.
    const workDir: RuntimeStore["workDir"] = (worker_id) => join(root, "workers", worker_id, "work");
    const store = Object.assign(new MemoryStore(), { workDir });
    runtime = await openRuntime({ cmd: { backend: "command", command: ["/bin/pwd"] } }, { store });
    const { worker_ref, run_id } = await startRun(runtime);
    expect((await finish(runtime, worker_ref, run_id)).status).toBe("completed");
    const expected = join(realpathSync(s.dir), "data", "workers", worker_ref.worker_id, "work");
    expect((await lastAssistant(runtime, worker_ref))!.content.trim()).toBe(expected);
    await runtime.close();
    runtime = null;
    // The store owns that directory: closing the backend leaves it.
    expect(existsSync(expected)).toBe(true);
  });

  test("with the fs store the cwd is workers/<worker_id>/work under its root", async () => {
    const root = s.path("fs-root");
    runtime = await openRuntime({ cmd: { backend: "command", command: ["/bin/pwd"] } }, { store: new FsStore({ root, durability: "none" }) });
    const { worker_ref, run_id } = await startRun(runtime);
    expect((await finish(runtime, worker_ref, run_id)).status).toBe("completed");
    const expected = join(realpathSync(root), "workers", worker_ref.worker_id, "work");
    expect((await lastAssistant(runtime, worker_ref))!.content.trim()).toBe(expected);
  });

  test("a configured cwd is used as it is; a missing one fails the run clearly", async () => {
    const dir = s.path("configured");
    mkdirSync(dir);
    const rt = await openRuntime({
      here: { backend: "command", command: ["/bin/pwd"], cwd: dir },
      nowhere: { backend: "command", command: ["/bin/pwd"], cwd: s.path("missing") },
    });
    runtime = rt;
    const ok = await startRun(rt);
    expect((await finish(rt, ok.worker_ref, ok.run_id)).status).toBe("completed");
    expect((await lastAssistant(rt, ok.worker_ref))!.content.trim()).toBe(realpathSync(dir));
    const { worker_ref } = await rt.createWorker({ profile: { kind: "named", value: "nowhere" } });
    const bad = await startRun(rt, "go", worker_ref);
    const run = await finish(rt, worker_ref, bad.run_id);
    expect(run).toMatchObject({ status: "failed", error: { code: "spawn_failed" } });
    expect(run.error!.message).toContain("profiles.nowhere.cwd");
  });
});
