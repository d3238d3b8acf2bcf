import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { cleanScratch, scratchDir, startServer } from "../cli/helpers.ts";
import { Scratch, isRunning, until } from "./helpers.ts";

const scratch = new Scratch();
afterAll(() => {
  scratch.remove();
  cleanScratch();
});

const LEDGER = join(tmpdir(), `yoi-runtime-${userInfo().uid}`, "groups");

/** A runtime dir with a `sleeper` profile: a program and its grandchild that run until killed. */
function sleeperRuntime(): { cwd: string } {
  const cwd = scratchDir();
  const script = scratch.script(
    `sleeper-${Math.random().toString(36).slice(2)}.sh`,
    // Written under a temp name and renamed: once "pids" exists it holds both pids.
    `sleep 300 &\necho $$ $! > "$PWD/pids.tmp"\nmv "$PWD/pids.tmp" "$PWD/pids"\nwait`,
  );
  writeFileSync(join(cwd, "runtime.toml"), `[profiles.sleeper]\nbackend = "command"\ncommand = ["${script}"]\n`);
  return { cwd };
}

async function startSleeper(url: string, worker: string): Promise<string> {
  const post = (path: string, body: unknown) =>
    fetch(`${url}${path}`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  expect((await post("/v1/workers", { worker_id: worker, profile: { kind: "named", value: "sleeper" } })).status).toBe(201);
  expect((await post(`/v1/workers/${worker}/input`, { kind: "user", content: "go" })).status).toBe(202);
  return worker;
}

/** Starts worker `s`'s sleeper on `url` and waits until its group (shell and grandchild) is noted in the ledger. */
async function startNotedSleeper(url: string, cwd: string): Promise<number[]> {
  await startSleeper(url, "s");
  const pidFile = join(cwd, "data/workers/s/work/pids");
  // The script renames the file into place, so once it exists it holds the whole line.
  await until(() => existsSync(pidFile) && /^\d+ \d+\n$/.test(readFileSync(pidFile, "utf8")), "the program to write its pids");
  const pids = readFileSync(pidFile, "utf8").trim().split(/\s+/).map(Number);
  expect(pids.length).toBe(2);
  // Noted by the server right after the spawn returned, which the program may beat.
  await until(() => readdirSync(LEDGER).includes(`${pids[0]}.json`), "the group to be noted");
  return pids;
}

const isLinux = process.platform === "linux";

describe.if(isLinux)("command runs of a runtime that died (SIGKILL) do not outlive it", () => {
  test("the next runtime process ends the orphaned group, grandchildren included; the run is interrupted", async () => {
    const { cwd } = sleeperRuntime();
    const args = ["--store", "fs", "--data-dir", "data", "--config", "runtime.toml"];
    const first = await startServer(args, { cwd });
    let pids: number[];
    try {
      pids = await startNotedSleeper(first.url, cwd);
    } finally {
      await first.stop("SIGKILL");
    }
    // Nothing ended them: they were orphaned, not killed with the runtime.
    for (const pid of pids) expect(isRunning(pid)).toBe(true);

    const second = await startServer(args, { cwd });
    try {
      await until(() => pids.every((pid) => !isRunning(pid)), "the orphaned group to be ended");
      await until(() => !readdirSync(LEDGER).includes(`${pids[0]}.json`), "the note to be removed");
      const run = (await (await fetch(`${second.url}/v1/workers/s/runs`)).json()) as { runs: { status: string }[] };
      expect(run.runs.map((r) => r.status)).toEqual(["interrupted"]);
    } finally {
      await second.stop();
    }
  });

  test("a runtime started without any command profile ends them too (the reaper runs at every start)", async () => {
    const { cwd } = sleeperRuntime();
    const first = await startServer(["--store", "fs", "--data-dir", "data", "--config", "runtime.toml"], { cwd });
    let pids: number[];
    try {
      pids = await startNotedSleeper(first.url, cwd);
    } finally {
      await first.stop("SIGKILL");
    }
    for (const pid of pids) expect(isRunning(pid)).toBe(true);
    const plain = scratchDir();
    const second = await startServer(["--store", "memory"], { cwd: plain });
    try {
      await until(() => pids.every((pid) => !isRunning(pid)), "the orphaned group to be ended");
    } finally {
      await second.stop();
    }
  });

  test("a runtime that starts leaves the runs of a live runtime alone", async () => {
    const one = sleeperRuntime();
    const running = await startServer(["--store", "memory", "--config", "runtime.toml"], { cwd: one.cwd });
    try {
      await startSleeper(running.url, "busy");
      const status = async () =>
        ((await (await fetch(`${running.url}/v1/workers/busy`)).json()) as { worker: { status: string } }).worker.status;
      expect(await status()).toBe("running");
      const other = sleeperRuntime();
      const second = await startServer(["--store", "memory", "--config", "runtime.toml"], { cwd: other.cwd });
      await second.stop();
      // Still running after another runtime opened and closed a command backend.
      expect(await status()).toBe("running");
    } finally {
      await running.stop();
    }
  });
});
