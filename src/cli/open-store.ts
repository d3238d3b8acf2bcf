import type { ResolvedConfig } from "../config/resolved.ts";
import type { RuntimeLogger } from "../core/ports/logger.ts";
import { FsStore, type CommitStats } from "../store/fs-store.ts";
import { MemoryStore } from "../store/memory-store.ts";
import type { RuntimeStore } from "../core/ports/store.ts";

/** The store `[store]` asks for. Opening it (and its LOCK, runtime id check) is `Runtime.open`'s job. */
export function createStore(
  store: ResolvedConfig["store"],
  logger?: RuntimeLogger,
  onCommit?: (commit: CommitStats) => void,
): RuntimeStore {
  switch (store.kind) {
    case "memory":
      return new MemoryStore();
    case "fs":
      return new FsStore({ root: store.root, durability: store.durability, logger, onCommit });
  }
}
