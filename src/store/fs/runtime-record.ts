import { RuntimeError } from "../../core/errors.ts";
import { RuntimeRecord } from "../../core/schema/runtime.ts";
import { firstError } from "../../core/validate.ts";
import { errnoCode } from "../../shared/errors.ts";
import type { StoreOpenOptions } from "../../core/ports/store.ts";
import { writeFileAtomic } from "./atomic.ts";
import { tryParse } from "./lines.ts";
import type { StorePaths } from "./paths.ts";

/** 2: every JSONL record and journal record is sealed with a checksum. 1 (unsealed) still opens. */
const FORMAT_VERSION = 2;
const READABLE_FORMATS = [1, 2];
const FILE = "runtime.json";

/**
 * runtime.json: read and checked against the configured runtime id, or written for a new store.
 * A missing file where a store's files lie is damage, not a new store.
 */
export async function openRuntimeRecord(paths: StorePaths, durable: boolean, options: StoreOpenOptions): Promise<RuntimeRecord> {
  const text = await readIfPresent(paths, paths.abs(FILE));
  if (text === null) {
    if (await holdsStoreFiles(paths)) {
      throw new RuntimeError(
        "store_corrupt",
        `${paths.abs(FILE)} is missing, but ${paths.root} holds a store's files; restore runtime.json or use another data directory`,
        { file: FILE },
      );
    }
    const record: RuntimeRecord = {
      id: options.runtime_id ?? options.newRuntimeId(),
      display_name: options.display_name ?? null,
      created_at: new Date().toISOString(),
      format_version: FORMAT_VERSION,
    };
    await writeRecord(paths, durable, record);
    return record;
  }
  const record = parseRecord(paths, text);
  if (options.runtime_id !== undefined && options.runtime_id !== record.id) {
    throw new RuntimeError(
      "store_runtime_mismatch",
      `the store at ${paths.root} belongs to runtime ${record.id}, not ${options.runtime_id}; use that runtime id or another data directory`,
      { store_runtime_id: record.id, configured_runtime_id: options.runtime_id },
    );
  }
  if (options.display_name != null && options.display_name !== record.display_name) {
    const updated = { ...record, display_name: options.display_name };
    await writeRecord(paths, durable, updated);
    return updated;
  }
  return record;
}

function parseRecord(paths: StorePaths, text: string): RuntimeRecord {
  const value = tryParse(text);
  const problem = value === undefined ? "is not valid JSON" : firstError(RuntimeRecord, value);
  if (problem) {
    const detail = value === undefined ? problem : `does not hold a runtime record (${problem})`;
    throw new RuntimeError("store_corrupt", `${paths.abs(FILE)} ${detail}; the store cannot be opened`, { file: FILE });
  }
  const record = value as RuntimeRecord;
  if (!READABLE_FORMATS.includes(record.format_version)) {
    throw new RuntimeError(
      "store_corrupt",
      `${paths.abs(FILE)} has format_version ${record.format_version}; this version reads formats ${READABLE_FORMATS.join(" and ")}`,
      { file: FILE },
    );
  }
  return record;
}

function writeRecord(paths: StorePaths, durable: boolean, record: RuntimeRecord): Promise<void> {
  return writeFileAtomic(paths, FILE, `${JSON.stringify(record, null, 2)}\n`, durable);
}

async function readIfPresent(paths: StorePaths, file: string): Promise<string | null> {
  try {
    return await paths.fs.promises.readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
    return null;
  }
}

async function holdsStoreFiles(paths: StorePaths): Promise<boolean> {
  for (const dir of ["workers", "events"]) {
    try {
      if ((await paths.fs.promises.readdir(paths.abs(dir))).length > 0) return true;
    } catch (error) {
      if (errnoCode(error) !== "ENOENT") throw error;
    }
  }
  return false;
}
