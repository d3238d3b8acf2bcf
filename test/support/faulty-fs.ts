import type { FileHandle } from "node:fs/promises";
import { NODE_STORE_FS, type StoreFs } from "../../src/index.ts";

/** The kinds of file-system call a fault can target. */
export type FsOp = "open" | "write" | "fsync" | "rename" | "unlink" | "mkdir" | "rm" | "readdir" | "read" | "stat" | "truncate" | "close";

export type Errno = "ENOSPC" | "EIO" | "EACCES" | "EDQUOT";

const ERRNO: Record<Errno, number> = { ENOSPC: -28, EIO: -5, EACCES: -13, EDQUOT: -122 };

export interface FaultRule {
  op: FsOp | FsOp[];
  /** Only calls whose path (or, for a rename, either path) matches; a string matches as a substring. */
  path?: RegExp | string;
  /** Fail only the nth matching call from now (1 = the next); default: every matching call. */
  nth?: number;
  /** Let this many matching calls through first, then fail every one (until lifted). */
  after?: number;
  code: Errno;
  /** A failing write first writes half its bytes (a short write), then fails the next write of that descriptor, as a disk that fills mid-write does. */
  partial?: boolean;
}

/** One armed fault: how often it fired; `lift()` disarms it. */
export interface Fault {
  readonly hits: number;
  lift(): void;
}

interface Armed {
  rule: FaultRule;
  seen: number;
  hits: number;
  active: boolean;
}

/** A call the wrapper saw (`failed`: the fault it injected). */
export interface FsCall {
  op: FsOp;
  path: string;
  failed?: Errno;
}

/**
 * A StoreFs over the real one that fails chosen calls with an errno error, for FsStoreOptions.fs.
 * Descriptor-based calls are matched by the path their descriptor was opened with. It also
 * watches for an fsync retried on a descriptor whose fsync failed (`refsynced`): after a failed
 * fsync the kernel may have dropped the dirty pages, so a later fsync that succeeds proves nothing.
 */
export class FaultyFs {
  readonly fs: StoreFs;
  readonly calls: FsCall[] = [];
  /** Paths of descriptors fsynced again after their fsync failed (should stay empty). */
  readonly refsynced: string[] = [];
  private readonly faults: Armed[] = [];
  private readonly fdPaths = new Map<number, string>();
  private readonly failedSync = new Set<number>();
  /** Descriptors that got a short write: their next write fails with this. */
  private readonly shortWritten = new Map<number, Errno>();
  private readonly real: StoreFs;

  constructor(real: StoreFs = NODE_STORE_FS) {
    this.real = real;
    this.fs = this.build();
  }

  fail(rule: FaultRule): Fault {
    const armed: Armed = { rule, seen: 0, hits: 0, active: true };
    this.faults.push(armed);
    return {
      get hits() {
        return armed.hits;
      },
      lift: () => {
        armed.active = false;
      },
    };
  }

  /** How many calls of `op` (on a path matching `path`) failed so far. */
  failures(op?: FsOp, path?: RegExp | string): number {
    return this.calls.filter((call) => call.failed && (!op || call.op === op) && (!path || matches(path, call.path))).length;
  }

  /** The armed fault that fails this call, if any (noted in `calls`). */
  private check(op: FsOp, paths: string[]): FaultRule | null {
    const call: FsCall = { op, path: paths[0] ?? "" };
    this.calls.push(call);
    if (this.calls.length > 100_000) this.calls.splice(0, 50_000);
    for (const fault of this.faults) {
      if (!fault.active) continue;
      const ops = Array.isArray(fault.rule.op) ? fault.rule.op : [fault.rule.op];
      if (!ops.includes(op)) continue;
      if (fault.rule.path !== undefined && !paths.some((path) => matches(fault.rule.path!, path))) continue;
      fault.seen++;
      if (fault.rule.after !== undefined && fault.seen <= fault.rule.after) continue;
      if (fault.rule.nth !== undefined) {
        if (fault.seen !== fault.rule.nth) continue;
        fault.active = false;
      }
      fault.hits++;
      call.failed = fault.rule.code;
      return fault.rule;
    }
    return null;
  }

  private guard(op: FsOp, ...paths: string[]): void {
    const rule = this.check(op, paths);
    if (rule) throw errnoError(rule.code, op, paths[0] ?? "");
  }

  private pathOf(fd: number): string {
    return this.fdPaths.get(fd) ?? `fd:${fd}`;
  }

  private syncGuard(fd: number): void {
    const path = this.pathOf(fd);
    if (this.failedSync.has(fd)) this.refsynced.push(path);
    const rule = this.check("fsync", [path]);
    if (rule) {
      this.failedSync.add(fd);
      throw errnoError(rule.code, "fsync", path);
    }
  }

  private closed(fd: number): void {
    this.fdPaths.delete(fd);
    this.shortWritten.delete(fd);
    this.failedSync.delete(fd);
  }

  private wrapHandle(handle: FileHandle, path: string): FileHandle {
    const fd = handle.fd;
    this.fdPaths.set(fd, path);
    const self = this;
    return new Proxy(handle, {
      get(target, key) {
        const value = Reflect.get(target, key, target);
        if (typeof value !== "function") return value;
        switch (key) {
          case "sync":
          case "datasync":
            return async () => {
              self.syncGuard(fd);
              return value.call(target);
            };
          case "write":
          case "writeFile":
          case "appendFile":
            return async (...args: unknown[]) => {
              self.guard("write", path);
              return value.apply(target, args);
            };
          case "read":
          case "readFile":
            return async (...args: unknown[]) => {
              self.guard("read", path);
              return value.apply(target, args);
            };
          case "close":
            return async () => {
              self.closed(fd);
              return value.call(target);
            };
          default:
            return value.bind(target);
        }
      },
    });
  }

  /** A call whose first argument is a path, guarded on it (a fault throws before the real call). */
  private onPath<F extends (path: any, ...rest: any[]) => unknown>(op: FsOp, call: F): F {
    return ((path: unknown, ...rest: unknown[]) => {
      this.guard(op, String(path));
      return call(path, ...rest);
    }) as F;
  }

  /** The same for a promise-returning call: a fault rejects, as the real call would. */
  private onPathAsync<F extends (path: any, ...rest: any[]) => Promise<unknown>>(op: FsOp, call: F): F {
    return (async (path: unknown, ...rest: unknown[]) => {
      this.guard(op, String(path));
      return call(path, ...rest);
    }) as F;
  }

  private build(): StoreFs {
    const real = this.real;
    const fs: StoreFs = {
      openSync: ((path: string, ...rest: unknown[]) => {
        this.guard("open", String(path));
        const fd = (real.openSync as (...args: unknown[]) => number)(path, ...rest);
        this.fdPaths.set(fd, String(path));
        return fd;
      }) as StoreFs["openSync"],
      closeSync: (fd) => {
        this.closed(fd);
        real.closeSync(fd);
      },
      readSync: ((fd: number, ...rest: unknown[]) => {
        this.guard("read", this.pathOf(fd));
        return (real.readSync as (...args: unknown[]) => number)(fd, ...rest);
      }) as StoreFs["readSync"],
      writeSync: ((fd: number, buffer: Uint8Array, offset?: number, length?: number, position?: number | null) => {
        const path = this.pathOf(fd);
        const owed = this.shortWritten.get(fd);
        if (owed) {
          this.shortWritten.delete(fd);
          this.calls.push({ op: "write", path, failed: owed });
          throw errnoError(owed, "write", path);
        }
        const rule = this.check("write", [path]);
        if (rule) {
          if (rule.partial && typeof offset === "number" && typeof length === "number" && length > 1) {
            this.shortWritten.set(fd, rule.code);
            return (real.writeSync as (...args: unknown[]) => number)(fd, buffer, offset, Math.floor(length / 2), position);
          }
          throw errnoError(rule.code, "write", path);
        }
        return (real.writeSync as (...args: unknown[]) => number)(fd, buffer, offset, length, position);
      }) as StoreFs["writeSync"],
      fstatSync: ((fd: number, ...rest: unknown[]) => {
        this.guard("stat", this.pathOf(fd));
        return (real.fstatSync as (...args: unknown[]) => unknown)(fd, ...rest);
      }) as StoreFs["fstatSync"],
      ftruncateSync: (fd, length) => {
        this.guard("truncate", this.pathOf(fd));
        real.ftruncateSync(fd, length);
      },
      fdatasync: (fd, callback) => {
        try {
          this.syncGuard(fd);
        } catch (error) {
          queueMicrotask(() => callback(error as NodeJS.ErrnoException));
          return;
        }
        real.fdatasync(fd, callback);
      },
      readFileSync: this.onPath("read", real.readFileSync),
      readdirSync: this.onPath("readdir", real.readdirSync),
      existsSync: this.onPath("stat", real.existsSync),
      mkdirSync: this.onPath("mkdir", real.mkdirSync),
      renameSync: (from, to) => {
        this.guard("rename", String(from), String(to));
        real.renameSync(from, to);
      },
      unlinkSync: this.onPath("unlink", real.unlinkSync),
      statSync: this.onPath("stat", real.statSync),
      writeFileSync: ((path: string, ...rest: unknown[]) => {
        this.guard("open", String(path));
        this.guard("write", String(path));
        return (real.writeFileSync as (...args: unknown[]) => unknown)(path, ...rest);
      }) as StoreFs["writeFileSync"],
      rmSync: this.onPath("rm", real.rmSync),
      promises: {
        open: (async (path: string, ...rest: unknown[]) => {
          this.guard("open", String(path));
          const handle = await (real.promises.open as (...args: unknown[]) => Promise<FileHandle>)(path, ...rest);
          return this.wrapHandle(handle, String(path));
        }) as StoreFs["promises"]["open"],
        readFile: this.onPathAsync("read", real.promises.readFile),
        readdir: this.onPathAsync("readdir", real.promises.readdir),
        mkdir: this.onPathAsync("mkdir", real.promises.mkdir),
        rename: async (from, to) => {
          this.guard("rename", String(from), String(to));
          return real.promises.rename(from, to);
        },
        unlink: this.onPathAsync("unlink", real.promises.unlink),
        rm: this.onPathAsync("rm", real.promises.rm),
        realpath: this.onPathAsync("stat", real.promises.realpath),
      },
    };
    return fs;
  }
}

function matches(pattern: RegExp | string, path: string): boolean {
  return typeof pattern === "string" ? path.includes(pattern) : pattern.test(path);
}

function errnoError(code: Errno, op: FsOp, path: string): NodeJS.ErrnoException {
  const message = code === "ENOSPC" ? "no space left on device" : code === "EDQUOT" ? "disk quota exceeded" : code === "EIO" ? "i/o error" : "permission denied";
  return Object.assign(new Error(`${code}: ${message} (injected), ${op} '${path}'`), { code, errno: ERRNO[code], syscall: op, path });
}
