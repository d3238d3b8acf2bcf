import { readFileSync } from "node:fs";

/**
 * Who a process is, beyond its pid (which the kernel hands out again): its start time (clock
 * ticks since boot, /proc/<pid>/stat field 22) and the boot it runs in. Linux only: elsewhere
 * these answer null and callers fall back to the pid alone.
 */
export interface ProcessIdentity {
  pid: number;
  start: number;
  boot_id: string;
}

/** This process's identity, or null where /proc cannot tell it. */
export function currentProcess(): ProcessIdentity | null {
  const start = startTimeOf(process.pid);
  const boot_id = bootId();
  return start !== null && boot_id !== null ? { pid: process.pid, start, boot_id } : null;
}

/** Whether the process `identity` names still runs: same boot, same pid, same start time, not a zombie. */
export function isRunning(identity: ProcessIdentity): boolean {
  return identity.boot_id === bootId() && isRunningSince(identity.pid, identity.start);
}

/** Whether a process stat is of a process that has not exited (a zombie has). */
export function isLiveStat(stat: { state: string }): boolean {
  return stat.state !== "Z" && stat.state !== "X";
}

/** Whether `pid` is the process that started at `start` and has not exited. */
export function isRunningSince(pid: number, start: number): boolean {
  const stat = statOf(String(pid));
  return stat !== null && stat.start === start && isLiveStat(stat);
}

export function startTimeOf(pid: number): number | null {
  return statOf(String(pid))?.start ?? null;
}

export function statOf(pid: string): { state: string; pgrp: number; start: number } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {
    return null;
  }
  // The command name may contain spaces and parentheses: the fields start after the last ") ".
  const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ");
  const start = Number(fields[19]);
  return Number.isSafeInteger(start) ? { state: fields[0] ?? "", pgrp: Number(fields[2]), start } : null;
}

export function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}
