import { readFileSync } from "node:fs";
import { isLive, readProcStat } from "./proc-stat.ts";

/**
 * Who a process is, beyond its pid (which the kernel hands out again): its start time (clock
 * ticks since boot, /proc/<pid>/stat field 22, read by proc-stat.ts as the group ledger does)
 * and the boot it runs in. Linux only: elsewhere these answer null and callers fall back to the pid.
 */
export interface ProcessIdentity {
  pid: number;
  start: number;
  boot_id: string;
}

/** This process's identity, or null where /proc cannot tell it. */
export function currentProcess(): ProcessIdentity | null {
  const start = readProcStat(process.pid)?.start ?? null;
  const boot_id = bootId();
  return start !== null && boot_id !== null ? { pid: process.pid, start, boot_id } : null;
}

/** Whether the process `identity` names still runs: same boot, same pid, same start time, not a zombie. */
export function isRunning(identity: ProcessIdentity): boolean {
  if (identity.boot_id !== bootId()) return false;
  const stat = readProcStat(identity.pid);
  return stat !== null && stat.start === identity.start && isLive(stat);
}

function bootId(): string | null {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || null;
  } catch {
    return null;
  }
}
