import type { ResolvedConfig } from "../config/resolved.ts";
import { ConfigError } from "../config/errors.ts";
import { MemoryStore } from "../store/memory-store.ts";
import type { RuntimeStore } from "../store/store.ts";

/** The store `[store]` asks for. Opening it (and its LOCK, runtime id check) is `Runtime.open`'s job. */
export function createStore(store: ResolvedConfig["store"]): RuntimeStore {
  switch (store.kind) {
    case "memory":
      return new MemoryStore();
    case "fs":
      throw new ConfigError("--store / store.kind: the fs store is not part of this build yet; use --store memory");
  }
}
