import { stringify } from "smol-toml";
import type { ResolvedConfig } from "./resolved.ts";

export const REDACTED = "[redacted]";

/**
 * Setting names whose values are credentials. Names ending in `_env` or `_file` say where a
 * secret is read from (like `auth.token_env`), which is what an operator needs to see, so they
 * stay visible.
 */
const SECRET_NAME = /(?:api[_-]?key|secret|token|passw(?:or)?d|credential|authorization|bearer|cookie|private[_-]?key)/i;
const POINTER_NAME = /_(?:env|file)$/i;
/** Tables whose every value may be a secret: a child's environment and a provider's HTTP headers. */
const SECRET_TABLES = new Set(["env", "headers"]);

/**
 * The resolved configuration as a TOML document `serve` would accept as a config file, with every
 * secret replaced by `"[redacted]"`. The token itself is never part of a `ResolvedConfig`; only
 * the name of the variable or file it comes from is printed.
 */
export function renderConfig(config: ResolvedConfig, header: string[] = []): string {
  const document: Record<string, unknown> = {};
  if (config.runtime_id !== null) document.runtime_id = config.runtime_id;
  if (config.display_name !== null) document.display_name = config.display_name;
  document.default_profile = config.default_profile;
  document.server = config.server.metrics_bind === null ? { bind: config.server.bind } : { bind: config.server.bind, metrics_bind: config.server.metrics_bind };
  document.store = { ...config.store };
  const auth: Record<string, string | number> = {};
  if (config.auth.token_env !== null) auth.token_env = config.auth.token_env;
  if (config.auth.token_file !== null) auth.token_file = config.auth.token_file;
  if (config.auth.public_keys_file !== null) {
    Object.assign(auth, { public_keys_file: config.auth.public_keys_file, ...(config.auth.issuer !== null ? { issuer: config.auth.issuer } : {}) });
    Object.assign(auth, { max_token_lifetime_s: config.auth.max_token_lifetime_s, clock_skew_s: config.auth.clock_skew_s });
  }
  if (Object.keys(auth).length > 0) document.auth = auth;
  document.log = { ...config.log };
  document.limits = { ...config.limits };
  if (Object.keys(config.profiles).length > 0) {
    // Profile names are labels, not setting names: only what is inside each profile is judged.
    document.profiles = Object.fromEntries(Object.entries(config.profiles).map(([name, profile]) => [name, redact(profile, false)]));
  }
  if (Object.keys(config.workspaces).length > 0) document.workspaces = config.workspaces;
  const comments = header.map((line) => `# ${line}`.trimEnd());
  return `${comments.length > 0 ? `${comments.join("\n")}\n\n` : ""}${stringify(document)}\n`;
}

/** A deep copy with secret values replaced; inside a secret table every leaf is replaced. */
function redact(value: unknown, secret: boolean): unknown {
  if (Array.isArray(value)) return value.map((item) => redact(item, secret));
  if (typeof value === "object" && value !== null && !(value instanceof Date)) {
    const out: Record<string, unknown> = {};
    for (const [key, child] of Object.entries(value)) {
      const hidden = secret || SECRET_TABLES.has(key) || (SECRET_NAME.test(key) && !POINTER_NAME.test(key));
      out[key] = redact(child, hidden);
    }
    return out;
  }
  return secret ? REDACTED : value;
}
