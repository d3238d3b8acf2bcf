import { RuntimeError } from "../../core/errors.ts";
import { currentProcess, isRunning, type ProcessIdentity } from "../../platform/process-identity.ts";
import { errnoCode } from "../../shared/errors.ts";
import { sleep } from "../../shared/sleep.ts";
import type { StoreFs } from "./store-fs.ts";
import { tryParse } from "./lines.ts";

/** Roots locked by stores of this process: the pid in LOCK cannot tell them apart. */
const heldHere = new Set<string>();

/**
 * LOCK holds its owner's identity as one JSON line, `{"pid","start","boot_id"}` (see
 * platform/process-identity.ts), so a pid the kernel handed to another process since, or a
 * lock from before a reboot, is told from a live owner. Older versions wrote only the pid.
 */
type Owner = { pid: number; identity: ProcessIdentity | null };

function lockContent(): string {
  const identity = currentProcess();
  return `${identity ? JSON.stringify(identity) : process.pid}\n`;
}

function parseOwner(content: string): Owner | null {
  const text = content.trim();
  if (/^[1-9][0-9]{0,9}$/.test(text)) return { pid: Number(text), identity: null };
  const value = tryParse(text) as Partial<ProcessIdentity> | undefined;
  if (!value || !Number.isSafeInteger(value.pid) || value.pid! < 1) return null;
  const identified = Number.isSafeInteger(value.start) && typeof value.boot_id === "string";
  return { pid: value.pid!, identity: identified ? (value as ProcessIdentity) : null };
}

/** Whether the owner still runs: by its identity where this host can tell, by its pid otherwise. */
function ownerRuns(owner: Owner): boolean {
  if (owner.identity && currentProcess() !== null) return isRunning(owner.identity);
  return isAlive(owner.pid);
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, which still makes it the owner.
    return errnoCode(error) === "EPERM";
  }
}

async function readLock(fs: StoreFs, file: string): Promise<string | null> {
  try {
    return await fs.promises.readFile(file, "utf8");
  } catch (error) {
    if (errnoCode(error) === "ENOENT") return null;
    throw error;
  }
}

function locked(file: string, why: string): RuntimeError {
  return new RuntimeError("store_locked", `the store is locked: ${why} (${file}); stop that process or use another data directory`, {
    lock_file: file,
  });
}

/**
 * Takes `file` (the store's LOCK) for this process: created exclusively, holding our identity. A
 * lock whose owner no longer runs is stale and taken over; its pid is returned so the caller can warn.
 */
export async function acquireLock(file: string, root: string, fs: StoreFs): Promise<{ taken_over: { pid: number | null } | null }> {
  if (heldHere.has(root)) throw locked(file, "another store in this process has it open");
  // Claimed before the first await, so two opens in this process cannot both get past here.
  heldHere.add(root);
  try {
    return await takeLock(fs, file);
  } catch (error) {
    heldHere.delete(root);
    throw error;
  }
}

async function takeLock(fs: StoreFs, file: string): Promise<{ taken_over: { pid: number | null } | null }> {
  let taken_over: { pid: number | null } | null = null;
  for (let attempt = 0; attempt < 5; attempt++) {
    try {
      const handle = await fs.promises.open(file, "wx", 0o644);
      try {
        await handle.writeFile(lockContent());
        await handle.sync();
      } finally {
        await handle.close();
      }
      return { taken_over };
    } catch (error) {
      if (errnoCode(error) !== "EEXIST") throw error;
    }
    let content = await readLock(fs, file);
    if (content === null) continue;
    let owner = parseOwner(content);
    if (owner === null) {
      // The owner creates the file first and writes its pid right after: give it a moment. Still
      // without a pid after that, its owner died between the two (or it is not a lock): stale.
      await sleep(200);
      content = await readLock(fs, file);
      if (content === null) continue;
      owner = parseOwner(content);
    }
    // Our own pid, but no store here holds it: a previous process that had this pid left it.
    if (owner !== null && owner.pid !== process.pid && ownerRuns(owner)) throw locked(file, `process ${owner.pid} owns it`);
    // Stale. Move it aside and check that what moved is the lock we judged, not a fresh one
    // another process took meanwhile; only then is it ours to replace.
    const aside = `${file}.stale-${process.pid}`;
    try {
      await fs.promises.rename(file, aside);
    } catch (error) {
      if (errnoCode(error) === "ENOENT") continue;
      throw error;
    }
    const moved = await readLock(fs, aside);
    if (moved === null || moved !== content) {
      await fs.promises.rename(aside, file).catch(() => undefined);
      throw locked(file, "another process took it over while this one started");
    }
    await fs.promises.unlink(aside);
    taken_over = { pid: owner?.pid ?? null };
  }
  throw locked(file, "it kept changing while this process tried to take it");
}

/** Removes LOCK if it is still ours. */
export async function releaseLock(file: string, root: string, fs: StoreFs): Promise<void> {
  heldHere.delete(root);
  const content = await readLock(fs, file);
  if (content !== null && parseOwner(content)?.pid === process.pid) await fs.promises.unlink(file).catch(() => undefined);
}
