import type { ProfileConfig } from "../core/profiles.ts";
import type { Limits } from "../core/schema/runtime.ts";
import type { BindAddress } from "./bind.ts";
import type { Durability, LogFormat, LogLevel, StoreKind, WorkspaceTable } from "./schema.ts";

/** The configuration `serve` runs with: every layer merged, defaults filled in, paths absolute. */
export interface ResolvedConfig {
  /** Null: taken from the store, or generated on first start. */
  runtime_id: string | null;
  display_name: string | null;
  default_profile: string;
  /** `metrics_bind`: where `/metrics` is also served, without credentials, for a local scraper. */
  server: { bind: string; address: BindAddress; metrics_bind: string | null; metrics_address: BindAddress | null };
  store: { kind: StoreKind; root: string; durability: Durability };
  /** Where the token comes from; the token itself is read by `resolveToken`. */
  auth: {
    token_env: string | null;
    token_file: string | null;
    /** Signed tokens (docs/auth.md): null when none are accepted. */
    public_keys_file: string | null;
    issuer: string | null;
    max_token_lifetime_s: number;
    clock_skew_s: number;
  };
  log: { level: LogLevel; format: LogFormat };
  limits: Limits;
  profiles: Record<string, ProfileConfig>;
  /** `[workspaces.<name>]`, each `repo` made absolute. */
  workspaces: Record<string, WorkspaceTable>;
  /** The layers that were applied, lowest precedence first: `defaults`, then files, then `flags`. */
  sources: string[];
}

export const DEFAULT_BIND = "127.0.0.1:38800";
export const DEFAULT_STORE_ROOT = ".yoi/runtime";
export const LOCAL_CONFIG_FILE = ".yoi/runtime.toml";
export const CONFIG_ENV = "YOI_RUNTIME_CONFIG";
