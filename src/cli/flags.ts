import type { ArgsDef } from "citty";
import type { KeyNamer } from "../config/check-layer.ts";

/** The flags `serve` and `config` share (SPEC §11); each but `--config` sets one config key. */
export const serveFlags = {
  config: { type: "string", valueHint: "FILE", description: "TOML config file (overrides $YOI_RUNTIME_CONFIG and ./.yoi/runtime.toml)" },
  bind: { type: "string", valueHint: "HOST:PORT", description: "Listen address; port 0 picks a free port (default 127.0.0.1:38800)" },
  "metrics-bind": { type: "string", valueHint: "HOST:PORT", description: "Also serve GET /metrics here, without credentials (loopback only)" },
  "runtime-id": { type: "string", valueHint: "ID", description: "Runtime id (default: from the store, else generated)" },
  "display-name": { type: "string", valueHint: "NAME", description: "Display name for humans" },
  store: { type: "string", valueHint: "memory|fs", description: "Store kind (default fs)" },
  "data-dir": { type: "string", valueHint: "DIR", description: "fs store root (default .yoi/runtime)" },
  durability: { type: "string", valueHint: "fsync|none", description: "fs store durability (default fsync)" },
  "token-env": { type: "string", valueHint: "NAME", description: "Require the bearer token held in this environment variable" },
  "token-file": { type: "string", valueHint: "PATH", description: "Require the bearer token held in this file" },
  "default-profile": { type: "string", valueHint: "NAME", description: "Profile of runtime_default workers (default echo)" },
  "log-level": { type: "string", valueHint: "silent|error|warn|info|debug", description: "Log level (default info)" },
  "log-format": { type: "string", valueHint: "pretty|json", description: "Log format (default pretty on a terminal, else json)" },
  "allow-insecure-remote": { type: "boolean", description: "Allow a non-loopback --bind without a token" },
} as const satisfies ArgsDef;

/** Flag → dotted config key, for every flag that sets one. */
const KEY_OF_FLAG = {
  bind: "server.bind",
  "metrics-bind": "server.metrics_bind",
  "runtime-id": "runtime_id",
  "display-name": "display_name",
  store: "store.kind",
  "data-dir": "store.root",
  durability: "store.durability",
  "token-env": "auth.token_env",
  "token-file": "auth.token_file",
  "default-profile": "default_profile",
  "log-level": "log.level",
  "log-format": "log.format",
} as const satisfies Record<string, string>;

const FLAG_OF_KEY = new Map<string, string>(Object.entries(KEY_OF_FLAG).map(([flag, key]) => [key, `--${flag}`]));

/** Names a config key as the flag that sets it, for error messages about the flags layer. */
export const flagName: KeyNamer = (key) => FLAG_OF_KEY.get(key) ?? key;

/** Parsed serve/config flags, as citty hands them over. */
export type ServeArgs = { [K in keyof typeof serveFlags]?: (typeof serveFlags)[K]["type"] extends "boolean" ? boolean : string };

/** The flags as a config layer (unchecked: `checkLayer` validates it like a file). */
export function flagsLayer(args: Record<string, unknown>): Record<string, unknown> {
  const layer: Record<string, Record<string, unknown> | unknown> = {};
  for (const [flag, key] of Object.entries(KEY_OF_FLAG)) {
    const value = args[flag];
    if (value === undefined) continue;
    const [table, inner] = key.split(".") as [string, string | undefined];
    if (inner === undefined) layer[table] = value;
    else ((layer[table] ??= {}) as Record<string, unknown>)[inner] = value;
  }
  return layer as Record<string, unknown>;
}
