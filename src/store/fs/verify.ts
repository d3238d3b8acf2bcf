import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { isValidId } from "../../core/ids.ts";
import { readJournal } from "./journal.ts";
import { completeLines, tryParse } from "./lines.ts";
import { numberedName, StorePaths } from "./paths.ts";
import { EVENTS_CHECKPOINT, readEventsCheckpoint } from "./events-checkpoint.ts";
import { NODE_STORE_FS } from "./store-fs.ts";
import { openDocument, openLine } from "./sealed-line.ts";

/** A record that fails its check: the file (root-relative), the byte its record starts at, and why. */
export interface Damage {
  file: string;
  offset: number;
  problem: string;
}

export interface VerifyReport {
  files: number;
  records: number;
  damaged: Damage[];
  /** Bytes after the last complete record (a crash's torn tail, cut at the next open): not damage. */
  torn: Damage[];
}

/**
 * Checks every record of a store offline (like `git fsck`): each line of every transcript, runs
 * file, event segment, diagnostics and idempotency generation against its seal, every journal record against
 * its checksum, and each worker's state.json against the size of its logs. Reads only; a running
 * runtime's store can be checked, though what it is writing may show as a torn tail.
 */
export function verifyStore(root: string): VerifyReport {
  const report: VerifyReport = { files: 0, records: 0, damaged: [], torn: [] };
  const runtime = tryParse(readText(join(root, "runtime.json")) ?? "") as { format_version?: unknown } | undefined;
  if (runtime === undefined || typeof runtime.format_version !== "number") {
    report.damaged.push({ file: "runtime.json", offset: 0, problem: "is missing or does not hold a runtime record" });
    return report;
  }
  const unsealed = runtime.format_version === 1;
  const acknowledged = eventsAcknowledged(root, report);
  for (const dir of ["events", "diagnostics", "idempotency"]) {
    for (const name of numbered(join(root, dir))) {
      const size = checkLines(root, `${dir}/${name}`, unsealed, report);
      const expected = dir === "events" ? acknowledged?.[String(numberedName(name))] : undefined;
      if (typeof expected === "number" && size < expected) {
        report.damaged.push({ file: `${dir}/${name}`, offset: size, problem: `ends at byte ${size}, short of its acknowledged events (byte ${expected})` });
      }
    }
  }
  for (const name of numbered(join(root, "wal"))) checkJournal(root, `wal/${name}`, unsealed, report);
  const workers = join(root, "workers");
  const ids = existsSync(workers) ? readdirSync(workers, { withFileTypes: true }).filter((e) => e.isDirectory() && isValidId(e.name)) : [];
  for (const { name: id } of ids) checkWorker(root, id, unsealed, report);
  return report;
}

/** The acknowledged segment sizes events/checkpoint.json records (null when there is none or it is damaged). */
function eventsAcknowledged(root: string, report: VerifyReport): Record<string, number> | null {
  const { record, problem } = readEventsCheckpoint(new StorePaths(root, NODE_STORE_FS));
  if (record === null && problem === undefined) return null;
  report.files++;
  if (record === null) {
    report.damaged.push({ file: EVENTS_CHECKPOINT, offset: 0, problem: "does not match its checksum" });
    return null;
  }
  return record.segments;
}

function checkWorker(root: string, id: string, unsealed: boolean, report: VerifyReport): void {
  const dir = `workers/${id}`;
  const marker = readText(join(root, dir, "unavailable.json"));
  if (marker !== null) {
    const reason = (openDocument(marker, false) as { reason?: unknown } | undefined)?.reason;
    report.damaged.push({ file: `${dir}/unavailable.json`, offset: 0, problem: `the worker was made unavailable: ${typeof reason === "string" ? reason : "(the marker is damaged)"}` });
  }
  for (const file of ["worker.json", "state.json"]) {
    report.files++;
    if (tryParse(readText(join(root, dir, file)) ?? "") === undefined) report.damaged.push({ file: `${dir}/${file}`, offset: 0, problem: "is missing or not valid JSON" });
  }
  const state = tryParse(readText(join(root, dir, "state.json")) ?? "") as { checkpoint?: Record<string, unknown> } | undefined;
  for (const [log, key] of [["transcript.jsonl", "transcript_bytes"], ["runs.jsonl", "runs_bytes"]] as const) {
    const size = checkLines(root, `${dir}/${log}`, unsealed, report);
    const acknowledged = state?.checkpoint?.[key];
    if (typeof acknowledged === "number" && size < acknowledged) {
      report.damaged.push({ file: `${dir}/${log}`, offset: size, problem: `ends at byte ${size}, short of its acknowledged records (byte ${acknowledged})` });
    }
  }
}

/** Checks every line of a JSONL file against its seal; returns the file's size (0 when missing). */
function checkLines(root: string, file: string, unsealed: boolean, report: VerifyReport): number {
  const buffer = readBytes(join(root, file));
  if (buffer === null) return 0;
  report.files++;
  const { lines, rest } = completeLines(buffer);
  for (const [start, end] of lines) {
    report.records++;
    const body = openLine(buffer.toString("utf8", start, end), unsealed);
    if (body === null || tryParse(body) === undefined) report.damaged.push({ file, offset: start, problem: "the record does not match its checksum" });
  }
  if (rest < buffer.length) report.torn.push({ file, offset: rest, problem: `${buffer.length - rest} bytes of an unfinished last record` });
  return buffer.length;
}

function checkJournal(root: string, file: string, unsealed: boolean, report: VerifyReport): void {
  report.files++;
  const journal = readJournal(NODE_STORE_FS, join(root, file), unsealed);
  report.records += journal.records.length;
  for (const record of journal.records) {
    if (record.damaged) report.damaged.push({ file, offset: record.offset, problem: "the journal record's payload does not match its checksum (its header is intact)" });
  }
  if (journal.corrupt_at !== null) report.damaged.push({ file, offset: journal.corrupt_at, problem: "the journal record does not match its checksum; later batches cannot be replayed" });
  if (journal.torn_at !== null) report.torn.push({ file, offset: journal.torn_at, problem: "a batch a crash cut short (never acknowledged)" });
}

function numbered(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((name) => numberedName(name) !== null)
    .sort((a, b) => numberedName(a)! - numberedName(b)!);
}

function readBytes(path: string): Buffer | null {
  try {
    return readFileSync(path);
  } catch {
    return null;
  }
}

function readText(path: string): string | null {
  return readBytes(path)?.toString("utf8") ?? null;
}
