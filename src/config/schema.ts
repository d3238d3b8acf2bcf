import { Type, type Static } from "@sinclair/typebox";
import { ID_MAX_LENGTH, ID_PATTERN } from "../core/ids.ts";
import { DisplayName, Id } from "../core/schema/common.ts";

const strict = { additionalProperties: false } as const;

const StoreKind = Type.Union([Type.Literal("memory"), Type.Literal("fs")]);
const Durability = Type.Union([Type.Literal("fsync"), Type.Literal("none")]);
const LogLevel = Type.Union([
  Type.Literal("silent"),
  Type.Literal("error"),
  Type.Literal("warn"),
  Type.Literal("info"),
  Type.Literal("debug"),
]);
const LogFormat = Type.Union([Type.Literal("pretty"), Type.Literal("json")]);

export type StoreKind = Static<typeof StoreKind>;
export type Durability = Static<typeof Durability>;
export type LogLevel = Static<typeof LogLevel>;
export type LogFormat = Static<typeof LogFormat>;

const values = <T extends string>(union: { anyOf: { const: T }[] }): readonly T[] => union.anyOf.map((option) => option.const);
export const STORE_KINDS = values(StoreKind);
export const DURABILITIES = values(Durability);
export const LOG_LEVELS = values(LogLevel);
export const LOG_FORMATS = values(LogFormat);

const Path = Type.String({ minLength: 1, maxLength: 4096 });

/** An environment variable name (POSIX portable charset), so a typo cannot look like a value. */
export const ENV_NAME_PATTERN = "^[A-Za-z_][A-Za-z0-9_]*$";

/** `[workspaces.<name>]` (issue 11): a git repository workers get worktrees of. */
const WorkspaceTable = Type.Object(
  {
    repo: Path,
    base: Type.Optional(Type.String({ minLength: 1, maxLength: 4096 })),
    branch_prefix: Type.Optional(Type.String({ maxLength: 200 })),
    keep_branch_on_delete: Type.Optional(Type.Boolean()),
  },
  strict,
);
export type WorkspaceTable = Static<typeof WorkspaceTable>;

/** A profile table: the common keys are checked here, the backend's own settings by `profileProblem`. */
const ProfileTable = Type.Object({ backend: Type.String({ minLength: 1 }) }, { additionalProperties: true });

export const PROFILE_NAME_PATTERN = ID_PATTERN;

/**
 * Every key a config file may hold (SPEC §11); all optional, unknown keys refused. A config file,
 * `$YOI_RUNTIME_CONFIG`, `.yoi/runtime.toml` and the command-line flags each form one layer of
 * this shape before they are merged.
 */
export const ConfigLayer = Type.Object(
  {
    runtime_id: Type.Optional(Id),
    display_name: Type.Optional(DisplayName),
    default_profile: Type.Optional(Type.String({ minLength: 1, maxLength: ID_MAX_LENGTH, pattern: PROFILE_NAME_PATTERN })),
    server: Type.Optional(
      Type.Object({ bind: Type.Optional(Type.String({ minLength: 1 })), metrics_bind: Type.Optional(Type.String({ minLength: 1 })) }, strict),
    ),
    store: Type.Optional(
      Type.Object(
        {
          kind: Type.Optional(StoreKind),
          root: Type.Optional(Path),
          durability: Type.Optional(Durability),
        },
        strict,
      ),
    ),
    auth: Type.Optional(
      Type.Object(
        {
          token_env: Type.Optional(Type.String({ minLength: 1, maxLength: 255, pattern: ENV_NAME_PATTERN })),
          token_file: Type.Optional(Path),
          /** A JWKS of the Backend's public keys: signed tokens are accepted (docs/auth.md). */
          public_keys_file: Type.Optional(Path),
          issuer: Type.Optional(Type.String({ minLength: 1, maxLength: 1024 })),
          max_token_lifetime_s: Type.Optional(Type.Integer({ minimum: 1 })),
          clock_skew_s: Type.Optional(Type.Integer({ minimum: 0, maximum: 3600 })),
        },
        strict,
      ),
    ),
    log: Type.Optional(
      Type.Object({ level: Type.Optional(LogLevel), format: Type.Optional(LogFormat) }, strict),
    ),
    limits: Type.Optional(
      Type.Object(
        {
          max_transcript_projection_items: Type.Optional(Type.Integer({ minimum: 1 })),
          max_event_batch_items: Type.Optional(Type.Integer({ minimum: 1 })),
          max_input_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
          max_body_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
          max_workers: Type.Optional(Type.Integer({ minimum: 0 })),
          max_retained_events: Type.Optional(Type.Integer({ minimum: 1 })),
          idempotency_retention_s: Type.Optional(Type.Integer({ minimum: 1, maximum: 31_536_000 })),
        },
        strict,
      ),
    ),
    profiles: Type.Optional(Type.Record(Type.String(), ProfileTable)),
    workspaces: Type.Optional(Type.Record(Type.String({ pattern: ID_PATTERN, maxLength: ID_MAX_LENGTH }), WorkspaceTable)),
  },
  strict,
);
export type ConfigLayer = Static<typeof ConfigLayer>;
