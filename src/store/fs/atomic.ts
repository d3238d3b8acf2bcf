import { dirname } from "node:path";
import type { StorePaths } from "./paths.ts";
import type { StoreFs } from "./store-fs.ts";
import { errnoCode } from "../../shared/errors.ts";

/**
 * Replaces `relative` with `data` so that a reader (or a crash) sees the old or the new content,
 * never a mix: temp file under `tmp/`, fsync, rename, fsync of the directory (SPEC §8).
 * Without `durable` the fsyncs are skipped (durability "none").
 */
export async function writeFileAtomic(paths: StorePaths, relative: string, data: string, durable: boolean): Promise<void> {
  const temporary = paths.abs(paths.temporary(relative.replaceAll("/", "_")));
  const handle = await paths.fs.promises.open(temporary, "w", 0o644);
  try {
    await handle.writeFile(data);
    if (durable) await handle.sync();
  } finally {
    await handle.close();
  }
  const target = paths.abs(relative);
  try {
    await paths.fs.promises.rename(temporary, target);
  } catch (error) {
    await paths.fs.promises.rm(temporary, { force: true });
    throw error;
  }
  if (durable) await fsyncDir(paths.fs, dirname(target));
}

/** Makes renames and new names in `dir` durable. Platforms that cannot fsync a directory skip it. */
export async function fsyncDir(fs: StoreFs, dir: string): Promise<void> {
  let handle;
  try {
    handle = await fs.promises.open(dir, "r");
    await handle.sync();
  } catch (error) {
    const code = errnoCode(error);
    if (code !== "EISDIR" && code !== "EINVAL" && code !== "EPERM" && code !== "EBADF") throw error;
  } finally {
    await handle?.close();
  }
}

/** fdatasync of a file by path (any descriptor of a file flushes its data); a missing file is skipped. */
export async function syncFile(fs: StoreFs, path: string): Promise<void> {
  let handle;
  try {
    handle = await fs.promises.open(path, "r");
    await handle.datasync();
  } catch (error) {
    if (errnoCode(error) !== "ENOENT") throw error;
  } finally {
    await handle?.close();
  }
}
