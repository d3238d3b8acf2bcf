import { readFileSync, statSync } from "node:fs";
import { ConfigError } from "../config/errors.ts";
import type { RuntimeLogger } from "../core/runtime.ts";
import { onSignal } from "../platform/index.ts";
import { KeySet, KeySetError } from "../server/key-set.ts";

/** How often the keys file is checked for a change (a rotation takes effect within this). */
export const KEYS_POLL_MS = 1000;

/** Reads the key set `serve` starts with; an unusable file refuses to start (exit 2). */
export function loadKeySet(path: string): KeySet {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new ConfigError(`auth.public_keys_file: ${path} ${code === "ENOENT" ? "does not exist" : `cannot be read (${code})`}`);
  }
  try {
    return KeySet.fromText(text);
  } catch (error) {
    if (error instanceof KeySetError) throw new ConfigError(`auth.public_keys_file: ${path}: ${error.message}`);
    throw error;
  }
}

/**
 * Re-reads the keys file on SIGHUP and whenever it changes (polled by size, mtime and inode, so
 * an editor's or a deploy tool's rename-into-place counts). A file that cannot be read or used
 * keeps the previous keys in force and is logged once per change. Returns a function that stops
 * watching.
 */
export function watchKeySet(path: string, keys: KeySet, logger: RuntimeLogger): () => void {
  let seen = signature(path);
  const reload = (why: string) => {
    seen = signature(path);
    let text: string;
    try {
      text = readFileSync(path, "utf8");
    } catch (error) {
      logger.error("public keys file cannot be read; the previous keys stay in force", {
        file: path,
        reason: (error as NodeJS.ErrnoException).code ?? String(error),
      });
      return;
    }
    try {
      const parsed = keys.replace(text);
      logger.info("public keys reloaded", { file: path, trigger: why, keys: parsed.kids.length > 0 ? parsed.kids : undefined });
    } catch (error) {
      if (!(error instanceof KeySetError)) throw error;
      logger.error("public keys file is not usable; the previous keys stay in force", { file: path, reason: error.message });
    }
  };
  const timer = setInterval(() => {
    if (signature(path) !== seen) reload("file changed");
  }, KEYS_POLL_MS);
  (timer as { unref?: () => void }).unref?.();
  const removeSignal = onSignal("SIGHUP", () => reload("SIGHUP"));
  return () => {
    clearInterval(timer);
    removeSignal();
  };
}

function signature(path: string): string {
  try {
    const stat = statSync(path);
    return `${stat.ino}:${stat.size}:${stat.mtimeMs}`;
  } catch {
    return "missing";
  }
}
