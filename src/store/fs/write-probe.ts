import type { StorePaths } from "./paths.ts";

const PROBE_BYTES = 4096;

/**
 * Whether the disk takes writes again, cheaply, with every kind of call the store makes: a page
 * written to a new file under tmp/, synced (when durable), renamed (as atomic writes and
 * checkpoints do) and removed. Throws the disk's error while it still fails.
 */
export async function probeWritable(paths: StorePaths, durable: boolean): Promise<void> {
  const file = paths.abs(paths.temporary("write-probe"));
  const renamed = `${file}.renamed`;
  try {
    const handle = await paths.fs.promises.open(file, "w", 0o644);
    try {
      await handle.writeFile(Buffer.alloc(PROBE_BYTES));
      if (durable) await handle.datasync();
    } finally {
      await handle.close();
    }
    await paths.fs.promises.rename(file, renamed);
  } finally {
    await paths.fs.promises.rm(file, { force: true });
    await paths.fs.promises.rm(renamed, { force: true });
  }
}
