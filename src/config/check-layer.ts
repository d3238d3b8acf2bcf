import type { TSchema } from "@sinclair/typebox";
import { Errors } from "@sinclair/typebox/errors";
import { CommonProfileKeys, profileProblem, type ProfileConfig } from "../core/profiles.ts";
import type { BackendDefinition } from "../core/ports/backend.ts";
import { explainError } from "../core/schema-problem.ts";
import { ConfigError } from "./errors.ts";
import { ConfigLayer, PROFILE_NAME_PATTERN } from "./schema.ts";
import { closest } from "../shared/suggest.ts";

/** Names a key for error messages: `server.bind` in a file, `--bind` on the command line. */
export type KeyNamer = (key: string) => string;

const PROFILE_NAME = new RegExp(PROFILE_NAME_PATTERN);

/**
 * Checks one layer (a parsed TOML document or the flags) against the config schema and every
 * profile against its backend's settings schema. Throws `ConfigError` for the first problem,
 * named by `name` and prefixed with `where` (the file, or nothing for flags).
 */
export function checkLayer(
  value: Record<string, unknown>,
  backends: readonly BackendDefinition<any>[],
  where: string,
  name: KeyNamer = (key) => key,
): ConfigLayer {
  const fail = (key: string, message: string): never => {
    throw new ConfigError(`${where}${name(key)}: ${message}`);
  };
  const unknown = unknownKey(ConfigLayer, value, "");
  if (unknown) fail(unknown.key, unknownKeyMessage(unknown.key, unknown.known));
  // Errors() walks the value with the schema: compiling the schema (milliseconds at every start)
  // would buy nothing for a value checked once.
  const error = Errors(ConfigLayer, value).First();
  if (error) {
    const problem = explainError(error);
    // TOML calls an object a table.
    fail(problem.path.join("."), problem.message.replace("must be an object", "must be a table"));
  }
  const layer = value as ConfigLayer;
  for (const [profile, table] of Object.entries(layer.profiles ?? {})) {
    if (profile.length > 128 || !PROFILE_NAME.test(profile)) {
      fail(`profiles.${profile}`, `a profile name must be 1-128 characters matching ${PROFILE_NAME_PATTERN}`);
    }
    const kind = (table as ProfileConfig).backend;
    const kinds = backends.map((backend) => backend.kind);
    if (!kinds.includes(kind)) {
      const guess = closest(kind, kinds);
      fail(`profiles.${profile}.backend`, `unknown backend "${kind}" (${guess === null ? "" : `did you mean "${guess}"? `}known: ${kinds.join(", ")})`);
    }
    const stray = unknownProfileKey(table as ProfileConfig, backends);
    if (stray) fail(`profiles.${profile}.${stray.key}`, unknownKeyMessage(stray.key, stray.known));
    const problem = profileProblem(profile, table as ProfileConfig, backends);
    if (problem) {
      const colon = problem.indexOf(": ");
      fail(problem.slice(0, colon), lowerFirst(problem.slice(colon + 2)));
    }
  }
  return layer;
}

/** `unknown key (did you mean "server"?)`, else the keys that are allowed there. */
function unknownKeyMessage(path: string, known: string[]): string {
  const guess = closest(path.slice(path.lastIndexOf(".") + 1), known);
  if (guess !== null) return `unknown key (did you mean "${guess}"?)`;
  return `unknown key${known.length > 0 ? ` (known here: ${known.join(", ")})` : ""}`;
}

/**
 * The first key of a profile table that neither every profile nor its backend accepts, so a typo
 * (`comand`) is reported as such rather than as the missing key it was meant to be.
 */
function unknownProfileKey(table: ProfileConfig, backends: readonly BackendDefinition<any>[]): { key: string; known: string[] } | null {
  const definition = backends.find((backend) => backend.kind === table.backend);
  const settings = definition?.settings.properties as Record<string, TSchema> | undefined;
  if (!settings || definition!.settings.additionalProperties !== false) return null;
  const known = [...Object.keys(CommonProfileKeys.properties), ...Object.keys(settings)];
  const key = Object.keys(table).find((name) => !known.includes(name));
  return key === undefined ? null : { key, known };
}

/** The first key (dotted path) the schema does not define, with the keys it does define there. */
function unknownKey(schema: TSchema, value: unknown, prefix: string): { key: string; known: string[] } | null {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
  if (schema.type !== "object" || !schema.properties) return null;
  const properties = schema.properties as Record<string, TSchema>;
  for (const [key, child] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    const property = properties[key];
    if (!property) {
      if (schema.additionalProperties === false) return { key: path, known: Object.keys(properties) };
      continue;
    }
    const nested = unknownKey(property, child, path);
    if (nested) return nested;
  }
  return null;
}

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);
