import { readdirSync, readFileSync } from "node:fs";
import { readdir, readFile } from "node:fs/promises";

/**
 * What /proc tells about processes (Linux): the fields of `/proc/<pid>/stat` that process groups
 * are told apart by, and the ids of every process of the host. Elsewhere every read is null.
 */
export interface ProcStat {
  /** `R`, `S`, `D`…; `Z` (zombie) and `X` (dead) have exited. */
  state: string;
  /** The process group id. */
  pgrp: number;
  /** Start time in clock ticks since boot (field 22). */
  start: number;
}

const statPath = (pid: number | string) => `/proc/${pid}/stat`;

/** `/proc/<pid>/stat` of a process, or null when it is gone (or unreadable). */
export function readProcStat(pid: number | string): ProcStat | null {
  try {
    return parseStat(readFileSync(statPath(pid), "utf8"));
  } catch {
    return null;
  }
}

/** As `readProcStat`, without blocking: for scans over every process of the host. */
export async function readProcStatAsync(pid: number | string): Promise<ProcStat | null> {
  try {
    return parseStat(await readFile(statPath(pid), "utf8"));
  } catch {
    return null;
  }
}

/** The ids of every process of the host, or null when /proc cannot be read. */
export function processIds(): string[] | null {
  try {
    return readdirSync("/proc").filter(isPid);
  } catch {
    return null;
  }
}

/** As `processIds`, without blocking. */
export async function processIdsAsync(): Promise<string[] | null> {
  try {
    return (await readdir("/proc")).filter(isPid);
  } catch {
    return null;
  }
}

/** Whether a process that still has an entry runs (a zombie has exited; only its parent has not reaped it). */
export function isLive(stat: ProcStat): boolean {
  return stat.state !== "Z" && stat.state !== "X";
}

function isPid(name: string): boolean {
  const code = name.charCodeAt(0);
  return code >= 48 && code <= 57;
}

function parseStat(text: string): ProcStat | null {
  // The command name may contain spaces and parentheses: the fields start after the last ") ".
  const fields = text.slice(text.lastIndexOf(") ") + 2).split(" ");
  const pgrp = Number(fields[2]);
  const start = Number(fields[19]);
  return Number.isSafeInteger(pgrp) && Number.isSafeInteger(start) ? { state: fields[0] ?? "", pgrp, start } : null;
}
