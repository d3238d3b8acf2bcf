import { mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { isLive, processIds, readProcStat } from "../platform/proc-stat.ts";
import { sleep } from "../shared/sleep.ts";

/**
 * The process groups of running command runs, one small file each, in a per-user directory of the
 * host. A runtime that dies without ending its runs (SIGKILL, a crash) leaves its files behind;
 * the next runtime process that starts a command backend on the host ends those groups, so no
 * program outlives its run for longer than it takes to restart the runtime.
 *
 * Linux only: it needs /proc to tell a group from a later one that reuses its id (the leader's
 * start time, and the boot id). Elsewhere nothing is noted and nothing is reaped.
 */
export interface LedgerEntry {
  pgid: number;
  /** Start time of the group leader (clock ticks since boot, /proc/<pid>/stat field 22). */
  leader_start: number;
  owner_pid: number;
  owner_start: number;
  boot_id: string;
}

export type Signaller = (pgid: number, signal: "SIGTERM" | "SIGKILL") => boolean;

export class GroupLedger {
  private readonly self: { pid: number; start: number; boot_id: string } | null;

  constructor(readonly dir: string = defaultDir()) {
    const start = startTimeOf(process.pid);
    const boot_id = bootId();
    this.self = start !== null && boot_id !== null ? { pid: process.pid, start, boot_id } : null;
    if (this.self) {
      try {
        mkdirSync(dir, { recursive: true, mode: 0o700 });
      } catch {
        this.self = null;
      }
    }
  }

  /** Notes a group this process leads; best effort (a full disk must not fail the run). */
  note(pgid: number): void {
    if (!this.self) return;
    const leader_start = startTimeOf(pgid);
    if (leader_start === null) return;
    const entry: LedgerEntry = { pgid, leader_start, owner_pid: this.self.pid, owner_start: this.self.start, boot_id: this.self.boot_id };
    try {
      writeFileSync(join(this.dir, `${pgid}.json`), JSON.stringify(entry), { mode: 0o600 });
    } catch {
      // Without the note the group is still ended by this process; only a crash could orphan it.
    }
  }

  /** The group is gone: its note goes. */
  forget(pgid: number): void {
    if (!this.self) return;
    rmSync(join(this.dir, `${pgid}.json`), { force: true });
  }

  /**
   * Groups noted by runtime processes that no longer run, still running in this boot. Notes of
   * live owners are left alone; notes that no longer name a running group are removed.
   */
  orphans(): LedgerEntry[] {
    if (!this.self) return [];
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return [];
    }
    const found: LedgerEntry[] = [];
    for (const name of names) {
      if (!/^[1-9][0-9]*\.json$/.test(name)) continue;
      const path = join(this.dir, name);
      const entry = readEntry(path);
      const thisBoot = entry !== null && entry.boot_id === this.self.boot_id;
      // A live owner (this process among them) ends its groups itself.
      if (thisBoot && isRunningSince(entry.owner_pid, entry.owner_start)) continue;
      if (thisBoot && groupIsThatGroup(entry)) found.push(entry);
      else rmSync(path, { force: true });
    }
    return found;
  }

  /** Ends every orphaned group: SIGTERM, SIGKILL if it still runs after `graceMs`; then forgets it. */
  async reap(signal: Signaller, graceMs: number): Promise<number> {
    const orphans = this.orphans();
    await Promise.all(
      orphans.map(async (entry) => {
        signal(entry.pgid, "SIGTERM");
        const deadline = Date.now() + graceMs;
        while (groupIsThatGroup(entry) && Date.now() < deadline) await sleep(25);
        if (groupIsThatGroup(entry)) signal(entry.pgid, "SIGKILL");
        this.forget(entry.pgid);
      }),
    );
    return orphans.length;
  }
}

function defaultDir(): string {
  let user: string;
  try {
    user = String(userInfo().uid);
  } catch {
    user = "user";
  }
  return join(tmpdir(), `yoi-runtime-${user}`, "groups");
}

function readEntry(path: string): LedgerEntry | null {
  try {
    const value = JSON.parse(readFileSync(path, "utf8")) as Partial<LedgerEntry>;
    const ints = [value.pgid, value.leader_start, value.owner_pid, value.owner_start];
    if (!ints.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) || typeof value.boot_id !== "string") return null;
    return value as LedgerEntry;
  } catch {
    return null;
  }
}

/**
 * Whether group `pgid` is still the noted one. With its leader alive, the leader's start time
 * says so. With the leader gone, a live member carrying the group id keeps the kernel from handing
 * that id out again, so it belongs to the noted group, unless the whole group ended and a new
 * group took the id and lost its own leader too, all between a crash and the restart: that is not
 * guarded against.
 */
function groupIsThatGroup(entry: LedgerEntry): boolean {
  const leader = readProcStat(entry.pgid);
  // A leader of another start time means the id was handed out again: not ours.
  if (leader !== null && leader.start !== entry.leader_start) return false;
  if (leader !== null && leader.pgrp === entry.pgid && isLive(leader)) return true;
  // The leader exited (it may linger as a zombie): any live member keeps the group.
  for (const pid of processIds() ?? []) {
    const stat = readProcStat(pid);
    if (stat && stat.pgrp === entry.pgid && isLive(stat) && stat.start >= entry.leader_start) return true;
  }
  return false;
}

/** Whether `pid` is the process that started at `start` and has not exited (a zombie has). */
function isRunningSince(pid: number, start: number): boolean {
  const stat = readProcStat(pid);
  return stat !== null && stat.start === start && isLive(stat);
}

function startTimeOf(pid: number): number | null {
  return readProcStat(pid)?.start ?? null;
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}
