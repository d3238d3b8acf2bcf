import { Type, type Static } from "@sinclair/typebox";
import { PermissionPolicy } from "../../core/schema/agent.ts";

export const DEFAULT_STARTUP_TIMEOUT_S = 30;
export const DEFAULT_IDLE_SHUTDOWN_S = 600;
export const DEFAULT_PERMISSION_TIMEOUT_S = 300;

const strict = { additionalProperties: false } as const;
const Text = Type.String({ maxLength: 65_536 });
const NameValue = Type.Object({ name: Type.String({ minLength: 1, maxLength: 1_024 }), value: Text }, strict);
// At most ~24.8 days: a longer delay overflows setTimeout, which would then fire at once.
const Seconds = Type.Number({ exclusiveMinimum: 0, maximum: 2_147_483 });

/** MCP servers as ACP's `session/new` describes them: stdio (no `type`), or `http`/`sse`. */
export const McpServerSetting = Type.Union([
  Type.Object(
    {
      name: Type.String({ minLength: 1, maxLength: 1_024 }),
      command: Type.String({ minLength: 1, maxLength: 4_096 }),
      args: Type.Array(Text, { maxItems: 4_096 }),
      env: Type.Array(NameValue, { maxItems: 1_024 }),
    },
    strict,
  ),
  Type.Object(
    {
      type: Type.Union([Type.Literal("http"), Type.Literal("sse")]),
      name: Type.String({ minLength: 1, maxLength: 1_024 }),
      url: Type.String({ minLength: 1, maxLength: 4_096 }),
      headers: Type.Array(NameValue, { maxItems: 1_024 }),
    },
    strict,
  ),
]);
export type McpServerSetting = Static<typeof McpServerSetting>;

/** `[profiles.<name>]` with `backend = "acp"` (besides the common `backend`, `capabilities`, `timeout_s`). */
export const AcpSettings = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1, maxLength: 65_536 }), { minItems: 1, maxItems: 4_096 }),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String({ maxLength: 65_536 }), strict),
    ),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4_096 })),
    startup_timeout_s: Type.Optional(Seconds),
    idle_shutdown_s: Type.Optional(Seconds),
    kill_grace_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
    permission: Type.Optional(PermissionPolicy),
    permission_timeout_s: Type.Optional(Seconds),
    mcp_servers: Type.Optional(Type.Array(McpServerSetting, { maxItems: 256 })),
  },
  strict,
);
export type AcpSettings = Static<typeof AcpSettings>;
