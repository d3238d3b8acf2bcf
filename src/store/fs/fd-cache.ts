import { closeSync, openSync, writeSync } from "node:fs";

/**
 * Open append descriptors of hot files, least recently used closed first, so thousands of
 * workers do not hold thousands of descriptors. Only the writer uses them, synchronously, so a
 * descriptor is never closed under an operation in flight.
 */
export class AppendFiles {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly abs: (relative: string) => string,
    private readonly capacity = 256,
  ) {}

  /** Appends `data` to `relative` (created if missing). */
  append(relative: string, data: Buffer): void {
    let fd = this.open.get(relative);
    if (fd === undefined) {
      fd = openSync(this.abs(relative), "a", 0o644);
      if (this.open.size >= this.capacity) this.evictOldest();
    } else {
      this.open.delete(relative);
    }
    this.open.set(relative, fd);
    let written = 0;
    while (written < data.length) written += writeSync(fd, data, written, data.length - written);
  }

  /** Closes descriptors of files under `prefix` (a deleted worker's directory, a pruned segment). */
  closeUnder(prefix: string): void {
    for (const [relative, fd] of this.open) {
      if (relative === prefix || relative.startsWith(`${prefix}/`)) {
        this.open.delete(relative);
        closeSync(fd);
      }
    }
  }

  closeAll(): void {
    for (const fd of this.open.values()) closeSync(fd);
    this.open.clear();
  }

  private evictOldest(): void {
    const oldest = this.open.entries().next().value;
    if (!oldest) return;
    this.open.delete(oldest[0]);
    closeSync(oldest[1]);
  }
}
