import { closeSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync, writeSync } from "node:fs";
import { rm, writeFile } from "node:fs/promises";
import { tmpdir, userInfo } from "node:os";
import { join } from "node:path";
import { isLive, processIds, readProcStat, readProcStatAsync } from "../platform/proc-stat.ts";
import { sleep } from "../shared/sleep.ts";

/**
 * The process groups of running command runs, in a per-user directory of the host. A runtime that
 * dies without ending its runs (SIGKILL, a crash) leaves its notes behind; the next runtime
 * process that starts a command backend on the host ends those groups, so no program outlives its
 * run for longer than it takes to restart the runtime.
 *
 * Two kinds of note (issue 16: creating and deleting a file per run cost more than the run):
 * - every group goes at once into this process's own append-only log, `<pid>-<start>.log`: a
 *   header line naming the owner, then `+<pgid> <leader_start>` when a group starts and
 *   `-<pgid>` when it is gone; one write(2) each on an open file, compacted now and then;
 * - a group still running after `NOTE_FILE_AFTER_MS` also gets its own `<pgid>.json`, the note
 *   every version of the runtime reads (and which shows what runs, for a person looking).
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

/** How long a group runs before it also gets a `<pgid>.json` note: most runs end before. */
const NOTE_FILE_AFTER_MS = 250;
/** Records the log may hold beyond its live groups before it is rewritten with only those. */
const COMPACT_AFTER_RECORDS = 10_000;
const LOG_NAME = /^([1-9][0-9]*)-([0-9]+)\.log$/;

interface Owner {
  pid: number;
  start: number;
  boot_id: string;
}

export class GroupLedger {
  private readonly self: Owner | null;
  /** This process's log: its descriptor, opened on the first note; -1 when it cannot be written. */
  private log: number | null = null;
  private logRecords = 0;
  /** Groups noted and not yet gone, with their leader's start time. */
  private readonly live = new Map<number, number>();
  /** Groups that got a `<pgid>.json`, or are being given one. */
  private readonly filed = new Map<number, Promise<void>>();
  /** The last operation asked for, by group id (see `inTurn`). */
  private readonly pending = new Map<number, Promise<void>>();

  constructor(
    readonly dir: string = defaultDir(),
    private readonly tuning: { fileAfterMs: number; compactAfterRecords: number } = {
      fileAfterMs: NOTE_FILE_AFTER_MS,
      compactAfterRecords: COMPACT_AFTER_RECORDS,
    },
  ) {
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

  /** The log's first line: whose it is (read back by parseOwner). */
  private get header(): string {
    const self = this.self!;
    return `${JSON.stringify({ owner_pid: self.pid, owner_start: self.start, boot_id: self.boot_id })}\n`;
  }

  private get logPath(): string {
    return join(this.dir, `${this.self!.pid}-${this.self!.start}.log`);
  }

  /**
   * Notes a group this process leads; best effort (a full disk must not fail the run). The
   * leader's start time is read off the event loop: /proc/<pid>/stat of a program still in exec
   * answers only once the exec is done (≈0.7 ms of a stalled event loop per run, issue 16).
   * Resolves once the note is written (or given up); it never rejects, so callers need not wait.
   */
  note(pgid: number): Promise<void> {
    if (!this.self) return Promise.resolve();
    return this.inTurn(pgid, async () => {
      const leader_start = (await readProcStatAsync(pgid))?.start;
      // Gone already (or unreadable): it can no longer be told from a later group of its id.
      if (leader_start === undefined) return;
      this.live.set(pgid, leader_start);
      this.append(`+${pgid} ${leader_start}\n`);
      if (Number.isFinite(this.tuning.fileAfterMs)) {
        const timer = setTimeout(() => this.file(pgid, leader_start), this.tuning.fileAfterMs);
        (timer as { unref?: () => void }).unref?.();
      }
    });
  }

  /** The group is gone: its notes go (after they were written, if that is still under way). */
  forget(pgid: number): Promise<void> {
    if (!this.self) return Promise.resolve();
    return this.inTurn(pgid, async () => {
      const filed = this.filed.get(pgid);
      const wasLive = this.live.delete(pgid);
      if (filed) {
        this.filed.delete(pgid);
        await filed;
        await rm(join(this.dir, `${pgid}.json`), { force: true });
      }
      if (wasLive) this.append(`-${pgid}\n`);
    });
  }

  /** Gives a group that still runs its `<pgid>.json`. */
  private file(pgid: number, leader_start: number): void {
    const self = this.self!;
    if (this.live.get(pgid) !== leader_start || this.filed.has(pgid)) return;
    const entry: LedgerEntry = { pgid, leader_start, owner_pid: self.pid, owner_start: self.start, boot_id: self.boot_id };
    this.filed.set(
      pgid,
      writeFile(join(this.dir, `${pgid}.json`), JSON.stringify(entry), { mode: 0o600 }).catch(() => {}),
    );
  }

  /** Appends records to this process's log, opening it (with its owner header) first. */
  private append(records: string): void {
    try {
      if (this.log === null) this.log = this.openLog();
      if (this.log < 0) return;
      writeSync(this.log, records);
      if (++this.logRecords > this.live.size + this.tuning.compactAfterRecords) this.compact();
    } catch {
      // Without the record the group is still ended by this process; only a crash could orphan it.
    }
  }

  private openLog(): number {
    try {
      const fd = openSync(this.logPath, "a", 0o600);
      writeSync(fd, this.header);
      return fd;
    } catch {
      return -1;
    }
  }

  /** Rewrites the log with only the groups that still run, in place at once (rename). */
  private compact(): void {
    const records = [...this.live].map(([pgid, start]) => `+${pgid} ${start}\n`).join("");
    const temporary = `${this.logPath}.tmp`;
    writeFileSync(temporary, this.header + records, { mode: 0o600 });
    renameSync(temporary, this.logPath);
    closeSync(this.log!);
    this.log = openSync(this.logPath, "a", 0o600);
    this.logRecords = this.live.size;
  }

  /**
   * Runs the operations on one group id in the order they were asked for, so the removal of an
   * ended group's notes never overtakes their writing, nor undoes the notes of a later group that
   * got the same id.
   */
  private inTurn(pgid: number, operation: () => Promise<void>): Promise<void> {
    const done = (this.pending.get(pgid) ?? Promise.resolve()).then(operation).catch(() => {});
    this.pending.set(pgid, done);
    void done.then(() => {
      if (this.pending.get(pgid) === done) this.pending.delete(pgid);
    });
    return done;
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
    const seen = new Set<number>();
    for (const name of names) {
      if (!LOG_NAME.test(name)) continue;
      for (const entry of this.orphansOfLog(join(this.dir, name))) {
        if (!seen.has(entry.pgid)) found.push(entry);
        seen.add(entry.pgid);
      }
    }
    for (const name of names) {
      if (!/^[1-9][0-9]*\.json$/.test(name)) continue;
      const path = join(this.dir, name);
      const entry = readEntry(path);
      const thisBoot = entry !== null && entry.boot_id === this.self.boot_id;
      // A live owner (this process among them) ends its groups itself.
      if (thisBoot && isRunningSince(entry.owner_pid, entry.owner_start)) continue;
      if (thisBoot && groupIsThatGroup(entry)) {
        if (!seen.has(entry.pgid)) found.push(entry);
        seen.add(entry.pgid);
      } else rmSync(path, { force: true });
    }
    return found;
  }

  /**
   * The groups a dead owner's log names that still run. The log itself goes: what it names is
   * returned to be reaped now, and a failure to reap leaves the group noted in its own file.
   */
  private orphansOfLog(path: string): LedgerEntry[] {
    let lines: string[];
    try {
      lines = readFileSync(path, "utf8").split("\n");
    } catch {
      return [];
    }
    const owner = parseOwner(lines[0] ?? "");
    if (owner && owner.boot_id === this.self!.boot_id && isRunningSince(owner.pid, owner.start)) return [];
    const running = new Map<number, number>();
    for (const line of lines.slice(1)) {
      const added = /^\+([1-9][0-9]*) ([0-9]+)$/.exec(line);
      if (added) running.set(Number(added[1]), Number(added[2]));
      else if (/^-[1-9][0-9]*$/.test(line)) running.delete(Number(line.slice(1)));
    }
    const found: LedgerEntry[] = [];
    if (owner && owner.boot_id === this.self!.boot_id) {
      for (const [pgid, leader_start] of running) {
        const entry: LedgerEntry = { pgid, leader_start, owner_pid: owner.pid, owner_start: owner.start, boot_id: owner.boot_id };
        if (!groupIsThatGroup(entry)) continue;
        found.push(entry);
        // Kept in a note of its own until it is reaped, should this process die first.
        try {
          writeFileSync(join(this.dir, `${pgid}.json`), JSON.stringify(entry), { mode: 0o600 });
        } catch {
          // Reaped now all the same.
        }
      }
    }
    rmSync(path, { force: true });
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
        rmSync(join(this.dir, `${entry.pgid}.json`), { force: true });
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

function parseOwner(line: string): Owner | null {
  try {
    const value = JSON.parse(line) as { owner_pid?: unknown; owner_start?: unknown; boot_id?: unknown };
    const ints = [value.owner_pid, value.owner_start];
    if (!ints.every((n) => Number.isSafeInteger(n) && (n as number) >= 0) || typeof value.boot_id !== "string") return null;
    return { pid: value.owner_pid as number, start: value.owner_start as number, boot_id: value.boot_id };
  } catch {
    return null;
  }
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
