import * as sync from "node:fs";
import * as promises from "node:fs/promises";

/**
 * Every file-system call the fs store makes, and nothing else: the store takes one of these
 * (FsStoreOptions.fs, default NODE_STORE_FS) so tests can wrap it and make a chosen call fail
 * the way a full or failing disk does (ENOSPC, EIO, …). The members keep node:fs's own names
 * and signatures, so the store reads as plain node:fs code and the real implementation is
 * node:fs itself. A FileHandle returned by `promises.open` is the wrapper's to wrap too.
 */
export interface StoreFs {
  openSync: typeof sync.openSync;
  closeSync: typeof sync.closeSync;
  readSync: typeof sync.readSync;
  writeSync: typeof sync.writeSync;
  fstatSync: typeof sync.fstatSync;
  ftruncateSync: typeof sync.ftruncateSync;
  /** Callback form: the cheapest per call, for the journal's one sync per batch. */
  fdatasync: (fd: number, callback: (error: NodeJS.ErrnoException | null) => void) => void;
  readFileSync: typeof sync.readFileSync;
  readdirSync: typeof sync.readdirSync;
  existsSync: typeof sync.existsSync;
  mkdirSync: typeof sync.mkdirSync;
  renameSync: typeof sync.renameSync;
  unlinkSync: typeof sync.unlinkSync;
  statSync: typeof sync.statSync;
  writeFileSync: typeof sync.writeFileSync;
  rmSync: typeof sync.rmSync;
  promises: {
    open: typeof promises.open;
    readFile: typeof promises.readFile;
    readdir: typeof promises.readdir;
    mkdir: typeof promises.mkdir;
    rename: typeof promises.rename;
    unlink: typeof promises.unlink;
    rm: typeof promises.rm;
    realpath: typeof promises.realpath;
  };
}

/** The real file system (node:fs, as Bun and Deno provide it). */
export const NODE_STORE_FS: StoreFs = {
  openSync: sync.openSync,
  closeSync: sync.closeSync,
  readSync: sync.readSync,
  writeSync: sync.writeSync,
  fstatSync: sync.fstatSync,
  ftruncateSync: sync.ftruncateSync,
  fdatasync: sync.fdatasync,
  readFileSync: sync.readFileSync,
  readdirSync: sync.readdirSync,
  existsSync: sync.existsSync,
  mkdirSync: sync.mkdirSync,
  renameSync: sync.renameSync,
  unlinkSync: sync.unlinkSync,
  statSync: sync.statSync,
  writeFileSync: sync.writeFileSync,
  rmSync: sync.rmSync,
  promises: {
    open: promises.open,
    readFile: promises.readFile,
    readdir: promises.readdir,
    mkdir: promises.mkdir,
    rename: promises.rename,
    unlink: promises.unlink,
    rm: promises.rm,
    realpath: promises.realpath,
  },
};
