import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, resolve } from "node:path";
import { ConfigError } from "./errors.ts";
import type { ResolvedConfig } from "./resolved.ts";

/** Backends whose `command` is an argv whose first element is the program to start. */
const PROGRAM_BACKENDS = new Set(["command", "acp"]);

/**
 * The checks of the host a configuration needs before anything is opened, run by `serve` and by
 * `config` alike (so `config` refuses exactly what `serve` would, with the same message): every
 * environment variable a profile names (`*_env` settings) is set, every `command`/`acp` program exists
 * and is executable, a configured `cwd` is a directory, and the fs store's data directory is (or
 * can be made) a writable directory. Reads only; binds nothing, opens no store. Throws `ConfigError`.
 */
export function preflight(config: ResolvedConfig, env: Record<string, string | undefined>): void {
  for (const [name, profile] of Object.entries(config.profiles)) {
    const key = (setting: string) => `profiles.${name}.${setting}`;
    for (const [setting, value] of Object.entries(profile)) {
      if (!setting.endsWith("_env") || typeof value !== "string") continue;
      const found = env[value];
      if (found === undefined) throw new ConfigError(`${key(setting)}: environment variable ${value} is not set`);
      if (found.trim() === "") throw new ConfigError(`${key(setting)}: environment variable ${value} is empty`);
    }
    const cwd = typeof profile.cwd === "string" ? profile.cwd : null;
    if (cwd !== null && !isDirectory(cwd)) throw new ConfigError(`${key("cwd")}: ${cwd} is not a directory`);
    if (PROGRAM_BACKENDS.has(profile.backend) && Array.isArray(profile.command) && typeof profile.command[0] === "string") {
      const childEnv = profile.env as Record<string, string> | undefined;
      const problem = programProblem(profile.command[0], cwd, childEnv?.PATH ?? env.PATH ?? "");
      if (problem) throw new ConfigError(`${key("command")}: ${problem}`);
    }
  }
  if (config.store.kind === "fs") {
    const problem = dataDirProblem(config.store.root);
    if (problem) throw new ConfigError(`--data-dir / store.root: ${problem}`);
  }
}

/** Why `program` cannot be started as the command backend starts it (PATH lookup for a bare name), or null. */
function programProblem(program: string, cwd: string | null, path: string): string | null {
  if (!program.includes("/")) {
    const dirs = path.split(delimiter).filter((dir) => dir !== "");
    const found = dirs.map((dir) => join(dir, program)).find((file) => isFile(file));
    if (found === undefined) return `program ${JSON.stringify(program)} is not found on PATH`;
    return executable(found) ? null : `${found} is not executable`;
  }
  // A relative path is resolved in the run's directory, known here only when `cwd` is configured.
  if (!isAbsolute(program) && cwd === null) return null;
  const file = cwd === null ? program : resolve(cwd, program);
  if (!isFile(file)) return `${file} does not exist (or is not a file)`;
  return executable(file) ? null : `${file} is not executable`;
}

/** Why the store cannot live at `root`, or null: it must be a writable directory, or creatable in one. */
export function dataDirProblem(root: string): string | null {
  let dir = root;
  for (;;) {
    const info = statOrNull(dir);
    if (info !== null) {
      if (!info.isDirectory()) {
        return dir === root ? `${root} is a file, not a directory` : `cannot create ${root}: ${dir} is a file, not a directory`;
      }
      if (!writable(dir)) return dir === root ? `${root} is not writable by this user` : `cannot create ${root}: ${dir} is not writable by this user`;
      return null;
    }
    const parent = dirname(dir);
    if (parent === dir) return `cannot create ${root}`;
    dir = parent;
  }
}

function statOrNull(path: string) {
  try {
    return statSync(path);
  } catch {
    return null;
  }
}

const isDirectory = (path: string): boolean => statOrNull(path)?.isDirectory() ?? false;
const isFile = (path: string): boolean => statOrNull(path)?.isFile() ?? false;

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function writable(path: string): boolean {
  try {
    accessSync(path, constants.W_OK | constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
