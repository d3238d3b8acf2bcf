import { readFileSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { parse, TomlError } from "smol-toml";
import { BUILTIN_PROFILE, type ProfileConfig } from "../core/profiles.ts";
import { DEFAULT_LIMITS } from "../core/schema/runtime.ts";
import type { BackendDefinition } from "../core/ports/backend.ts";
import { DEFAULT_CLOCK_SKEW_S, DEFAULT_MAX_TOKEN_LIFETIME_S } from "../server/token-verifier.ts";
import { parseBind } from "./bind.ts";
import { checkLayer, type KeyNamer } from "./check-layer.ts";
import { ConfigError } from "./errors.ts";
import {
  CONFIG_ENV,
  DEFAULT_BIND,
  DEFAULT_STORE_ROOT,
  LOCAL_CONFIG_FILE,
  type ResolvedConfig,
} from "./resolved.ts";
import type { ConfigLayer, StoreKind } from "./schema.ts";
import { errnoCode } from "../shared/errors.ts";

export const DEFAULT_STORE_KIND: StoreKind = "fs";

export interface LoadConfigOptions {
  /** The command-line flags as a layer (see `flagsLayer`), already checked. */
  flags: ConfigLayer;
  /** Names a key as its flag, for problems found only after merging (e.g. a bad `--bind`). */
  flagName: KeyNamer;
  /** `--config FILE`, if given. */
  configFile?: string;
  env: Record<string, string | undefined>;
  cwd: string;
  backends: readonly BackendDefinition<any>[];
  /** Whether logs go to a terminal: the default log format is `pretty` there, `json` elsewhere. */
  logIsTTY: boolean;
}

/**
 * Resolves the configuration, highest precedence first: flags, `--config FILE`,
 * `$YOI_RUNTIME_CONFIG`, `./.yoi/runtime.toml` (if present), built-in defaults (SPEC §11).
 * Every layer is checked strictly on its own, so a problem is reported against the file or flag
 * it came from. Throws `ConfigError`.
 */
export function loadConfig(options: LoadConfigOptions): ResolvedConfig {
  const layers: { source: string; layer: ConfigLayer; name: KeyNamer }[] = [];
  const fileLayer = (path: string, via: string, optional: boolean) => {
    const absolute = resolve(options.cwd, path);
    const layer = readConfigFile(absolute, via, optional, options.backends);
    if (layer) layers.push({ source: `${absolute} (${via})`, layer, name: (key) => `${absolute}: ${key}` });
  };
  fileLayer(LOCAL_CONFIG_FILE, LOCAL_CONFIG_FILE, true);
  const fromEnv = options.env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== "") fileLayer(fromEnv, `$${CONFIG_ENV}`, false);
  if (options.configFile === "") throw new ConfigError("--config: must not be empty");
  if (options.configFile !== undefined) fileLayer(options.configFile, "--config", false);
  layers.push({ source: "flags", layer: options.flags, name: options.flagName });

  let merged: ConfigLayer = {};
  // Which layer last set each key, so a problem found after merging names its flag or file.
  const origin = new Map<string, KeyNamer>();
  for (const { layer, name } of layers) {
    merged = mergeLayer(merged, layer);
    for (const key of keysOf(layer)) origin.set(key, name);
  }
  const nameOf = (key: string): string => (origin.get(key) ?? ((k: string) => k))(key);

  if (merged.auth?.token_env !== undefined && merged.auth.token_file !== undefined) {
    throw new ConfigError(`${nameOf("auth.token_env")}: set either a token environment variable or a token file, not both`);
  }

  const bind = merged.server?.bind ?? DEFAULT_BIND;
  const address = parseBind(bind);
  if (typeof address === "string") throw new ConfigError(`${nameOf("server.bind")}: ${address}`);
  const metrics_bind = merged.server?.metrics_bind ?? null;
  const metrics_address = metrics_bind === null ? null : parseBind(metrics_bind);
  if (typeof metrics_address === "string") throw new ConfigError(`${nameOf("server.metrics_bind")}: ${metrics_address}`);

  const profiles: Record<string, ProfileConfig> = { ...(merged.profiles as Record<string, ProfileConfig> | undefined) };
  const echo = profiles[BUILTIN_PROFILE];
  if (echo && echo.backend !== "echo") {
    throw new ConfigError(`${nameOf(`profiles.${BUILTIN_PROFILE}`)}: the builtin "echo" profile cannot use another backend`);
  }
  const default_profile = merged.default_profile ?? BUILTIN_PROFILE;
  if (default_profile !== BUILTIN_PROFILE && !Object.hasOwn(profiles, default_profile)) {
    const known = [BUILTIN_PROFILE, ...Object.keys(profiles).filter((name) => name !== BUILTIN_PROFILE)];
    throw new ConfigError(`${nameOf("default_profile")}: no profile "${default_profile}" (configured: ${known.join(", ")})`);
  }

  return {
    runtime_id: merged.runtime_id ?? null,
    display_name: merged.display_name ?? null,
    default_profile,
    server: { bind, address, metrics_bind, metrics_address },
    store: {
      kind: merged.store?.kind ?? DEFAULT_STORE_KIND,
      root: resolve(options.cwd, merged.store?.root ?? DEFAULT_STORE_ROOT),
      durability: merged.store?.durability ?? "fsync",
    },
    auth: {
      token_env: merged.auth?.token_env ?? null,
      token_file: merged.auth?.token_file === undefined ? null : resolve(options.cwd, merged.auth.token_file),
      public_keys_file: merged.auth?.public_keys_file === undefined ? null : resolve(options.cwd, merged.auth.public_keys_file),
      issuer: merged.auth?.issuer ?? null,
      max_token_lifetime_s: merged.auth?.max_token_lifetime_s ?? DEFAULT_MAX_TOKEN_LIFETIME_S,
      clock_skew_s: merged.auth?.clock_skew_s ?? DEFAULT_CLOCK_SKEW_S,
    },
    log: {
      level: merged.log?.level ?? "info",
      format: merged.log?.format ?? (options.logIsTTY ? "pretty" : "json"),
    },
    limits: { ...DEFAULT_LIMITS, ...merged.limits },
    profiles,
    workspaces: Object.fromEntries(
      Object.entries(merged.workspaces ?? {}).map(([name, table]) => [name, { ...table, repo: resolve(options.cwd, table.repo) }]),
    ),
    sources: ["defaults", ...layers.filter((entry) => keysOf(entry.layer).length > 0).map((entry) => entry.source)],
  };
}

/**
 * Reads and checks one TOML config file. `via` says how it was named (`--config`,
 * `$YOI_RUNTIME_CONFIG`, `.yoi/runtime.toml`); an `optional` file that does not exist is skipped.
 */
export function readConfigFile(
  path: string,
  via: string,
  optional: boolean,
  backends: readonly BackendDefinition<any>[],
): ConfigLayer | null {
  let text: string;
  try {
    if (statSync(path).isDirectory()) throw new ConfigError(`${via}: ${path} is a directory, not a TOML file`);
    text = readFileSync(path, "utf8");
  } catch (error) {
    if (error instanceof ConfigError) throw error;
    const code = errnoCode(error);
    if (code === "ENOENT" && optional) return null;
    if (code === "ENOENT") throw new ConfigError(`${via}: config file ${path} does not exist`);
    throw new ConfigError(`${via}: cannot read config file ${path}: ${(error as Error).message}`);
  }
  let document: Record<string, unknown>;
  try {
    document = parse(text) as Record<string, unknown>;
  } catch (error) {
    if (!(error instanceof TomlError)) throw error;
    const reason = error.message.split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    throw new ConfigError(`${path}:${error.line}:${error.column}: invalid TOML: ${reason}`);
  }
  return checkLayer(document, backends, `${path}: `);
}

/**
 * Lays `over` on top of `under`. Tables merge key by key, except: a profile is replaced whole (a
 * mix of two profiles' settings would be a profile nobody wrote), and the static token's source
 * is one choice, so a layer naming either `auth.token_env` or `auth.token_file` replaces both (the
 * signed-token keys of `[auth]` merge key by key).
 */
export function mergeLayer(under: ConfigLayer, over: ConfigLayer): ConfigLayer {
  const out: ConfigLayer = { ...under };
  for (const key of Object.keys(over) as (keyof ConfigLayer)[]) {
    const value = over[key];
    if (value === undefined) continue;
    if (key === "auth") {
      const auth = value as NonNullable<ConfigLayer["auth"]>;
      const { token_env: _env, token_file: _file, ...kept } = under.auth ?? {};
      const source = auth.token_env !== undefined || auth.token_file !== undefined ? {} : { token_env: _env, token_file: _file };
      out.auth = Object.fromEntries(Object.entries({ ...kept, ...source, ...auth }).filter(([, v]) => v !== undefined));
    }
    else if (key === "profiles") out.profiles = { ...under.profiles, ...(value as ConfigLayer["profiles"]) };
    else if (typeof value === "object" && value !== null) (out as Record<string, unknown>)[key] = { ...(under[key] as object), ...value };
    else (out as Record<string, unknown>)[key] = value;
  }
  return out;
}

/** Dotted keys a layer sets, one level into tables (`server.bind`, `profiles.x`). */
function keysOf(layer: ConfigLayer): string[] {
  const keys: string[] = [];
  for (const [key, value] of Object.entries(layer)) {
    if (value === undefined) continue;
    keys.push(key);
    if (typeof value === "object" && value !== null) for (const inner of Object.keys(value)) keys.push(`${key}.${inner}`);
  }
  return keys;
}
