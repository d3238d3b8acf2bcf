import { afterEach, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GroupLedger } from "../../src/execution/group-ledger.ts";
import { isRunning, Scratch, until } from "./helpers.ts";

/**
 * The orphan ledger's cheap path (issue 16): every group goes into the owner's append-only log at
 * once; the per-group `<pgid>.json` comes only for groups that run a while. A group only the log
 * knows must still be reaped after its owner was SIGKILLed, and compaction must keep what runs.
 */
const isLinux = process.platform === "linux";
let scratch: Scratch | null = null;
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const cleanup of cleanups.splice(0)) cleanup();
  scratch?.remove();
  scratch = null;
});

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // Already gone.
  }
}

const signalGroup = (pgid: number, signal: "SIGTERM" | "SIGKILL") => {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
};

describe.if(isLinux)("group ledger: the append-only log of a runtime process", () => {
  test("a group noted only in the log of an owner that was SIGKILLed is reaped by the next ledger, and the log goes", async () => {
    scratch = new Scratch();
    const dir = scratch.path("groups");
    const owner = spawn(process.execPath, [join(import.meta.dir, "ledger-owner.ts"), dir], { stdio: ["ignore", "pipe", "inherit"] });
    cleanups.push(() => owner.kill("SIGKILL"));
    let out = "";
    owner.stdout!.on("data", (chunk: Buffer) => (out += chunk.toString()));
    await until(() => /^\d+\n$/.test(out), "the owner to note its group", 30_000);
    const pgid = Number(out.trim());
    cleanups.push(() => killGroup(pgid));
    owner.kill("SIGKILL");
    await until(() => owner.exitCode !== null || owner.signalCode !== null, "the owner to die");
    expect(readdirSync(dir).filter((name) => name.endsWith(".json"))).toEqual([]);
    expect(isRunning(pgid)).toBe(true);

    const reaped = await new GroupLedger(dir).reap(signalGroup, 2_000);
    expect(reaped).toBe(1);
    await until(() => !isRunning(pgid), "the orphaned group to end");
    expect(readdirSync(dir).filter((name) => name.endsWith(".log") || name.endsWith(".json"))).toEqual([]);
  });

  test("a live owner's log is left alone; compaction keeps the groups that still run and drops the ended", async () => {
    scratch = new Scratch();
    const dir = scratch.path("groups");
    const ledger = new GroupLedger(dir, { fileAfterMs: Number.POSITIVE_INFINITY, compactAfterRecords: 8 });
    const long = spawn("/bin/sh", ["-c", "sleep 120"], { detached: true, stdio: "ignore" });
    cleanups.push(() => killGroup(long.pid!));
    await ledger.note(long.pid!);
    for (let i = 0; i < 12; i++) {
      const short = spawn("/bin/sh", ["-c", "sleep 120"], { detached: true, stdio: "ignore" });
      cleanups.push(() => killGroup(short.pid!));
      await ledger.note(short.pid!);
      const exited = new Promise((resolve) => short.once("exit", resolve));
      killGroup(short.pid!);
      await exited;
      await ledger.forget(short.pid!);
    }
    const [log] = readdirSync(dir).filter((name) => name.endsWith(".log"));
    const lines = readFileSync(join(dir, log!), "utf8").trimEnd().split("\n");
    // 1 header + 1 long-lived group + 24 records of the short ones without compaction.
    expect(lines.length).toBeLessThan(1 + 1 + 24);
    const running = new Set<number>();
    for (const line of lines.slice(1)) {
      if (line.startsWith("+")) running.add(Number(line.slice(1).split(" ")[0]));
      else running.delete(Number(line.slice(1)));
    }
    expect([...running]).toEqual([long.pid!]);
    // Its owner (this process) runs: nobody else's orphan.
    expect(await new GroupLedger(dir).reap(signalGroup, 100)).toBe(0);
    expect(isRunning(long.pid!)).toBe(true);
  });
});
