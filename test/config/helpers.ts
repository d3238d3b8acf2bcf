import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLayer, loadConfig, type ResolvedConfig } from "../../src/config/index.ts";
import { flagName, flagsLayer } from "../../src/cli/flags.ts";
import { builtinBackends } from "../../src/execution/index.ts";

/** A scratch working directory; `write` creates files relative to it. */
export interface Scratch {
  dir: string;
  write(path: string, text: string): string;
  remove(): void;
}

export function scratch(): Scratch {
  const dir = mkdtempSync(join(tmpdir(), "yoi-config-"));
  return {
    dir,
    write(path, text) {
      const full = join(dir, path);
      mkdirSync(dirname(full), { recursive: true });
      writeFileSync(full, text);
      return full;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

export interface LoadInput {
  cwd: string;
  flags?: Record<string, unknown>;
  configFile?: string;
  env?: Record<string, string | undefined>;
  tty?: boolean;
}

/** Loads the config the way the CLI does: flags checked as a layer, then every layer merged. */
export function load(input: LoadInput): ResolvedConfig {
  const flags = checkLayer(flagsLayer(input.flags ?? {}), builtinBackends, "", flagName);
  return loadConfig({
    flags,
    flagName,
    configFile: input.configFile,
    env: input.env ?? {},
    cwd: input.cwd,
    backends: builtinBackends,
    logIsTTY: input.tty ?? false,
  });
}

/** The ConfigError message of `fn`, failing the test when it does not throw one. */
export function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    if (error instanceof Error && error.name === "ConfigError") return error.message;
    throw error;
  }
  throw new Error("expected a ConfigError, but nothing was thrown");
}
