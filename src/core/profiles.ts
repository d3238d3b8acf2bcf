import { Type } from "@sinclair/typebox";
import { closest } from "../shared/suggest.ts";
import type { BackendDefinition, BackendEnvironment, ExecutionBackend } from "./ports/backend.ts";
import { RuntimeError } from "./errors.ts";
import type { ProfileInfo } from "./schema/runtime.ts";
import type { ProfileRef } from "./schema/worker.ts";
import { firstError } from "./validate.ts";

/** A named profile as configured: `[profiles.<name>]` in TOML, or an object in library use. */
export interface ProfileConfig {
  backend: string;
  capabilities?: string[];
  /** Wall-clock limit of one run; past it the run is aborted and ends `timed_out`. */
  timeout_s?: number;
  [setting: string]: unknown;
}

export interface Profile {
  info: ProfileInfo;
  backend: ExecutionBackend;
  timeout_ms: number | null;
}

export const BUILTIN_PROFILE = "echo";

/** Keys every profile accepts whatever its backend; the rest belong to the backend's settings schema. */
export const CommonProfileKeys = Type.Object({
  backend: Type.String({ minLength: 1 }),
  capabilities: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 64 })),
  // At most ~24.8 days: a longer delay overflows setTimeout, which would then fire at once.
  timeout_s: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 2_147_483 })),
});

/**
 * Checks one profile against its backend's settings schema. Returns the problem as
 * `profiles.<name>.<key>: message`, or null when it is valid.
 */
export function profileProblem(
  name: string,
  config: ProfileConfig,
  backends: readonly BackendDefinition<any>[],
): string | null {
  const { backend: kind, capabilities, timeout_s, ...settings } = config;
  const common = firstError(CommonProfileKeys, { backend: kind, capabilities, timeout_s });
  if (common) return `profiles.${name}.${common}`;
  const definition = backends.find((b) => b.kind === kind);
  if (!definition) {
    return `profiles.${name}.backend: unknown backend "${kind}" (known: ${backends.map((b) => b.kind).join(", ")})`;
  }
  const problem = firstError(definition.settings, settings);
  if (problem) return `profiles.${name}.${problem}`;
  return null;
}

/** Builds every configured profile plus the builtin `echo`, validating settings strictly. */
export function buildProfiles(
  configs: Record<string, ProfileConfig>,
  backends: readonly BackendDefinition<any>[],
  defaultProfile: string,
  env: BackendEnvironment | undefined,
): Map<string, Profile> {
  const all: Record<string, ProfileConfig> = { [BUILTIN_PROFILE]: { backend: "echo" }, ...configs };
  if (configs[BUILTIN_PROFILE] && configs[BUILTIN_PROFILE].backend !== "echo") {
    throw new RuntimeError("invalid_request", `profiles.${BUILTIN_PROFILE}: the builtin echo profile cannot be redefined`);
  }
  const profiles = new Map<string, Profile>();
  for (const [name, config] of Object.entries(all)) {
    const problem = profileProblem(name, config, backends);
    if (problem) throw new RuntimeError("invalid_request", `invalid profile: ${problem}`);
    const { backend: kind, capabilities = [], timeout_s, ...settings } = config;
    const definition = backends.find((b) => b.kind === kind)!;
    profiles.set(name, {
      info: { name, backend: kind, capabilities: [...capabilities], is_default: name === defaultProfile },
      backend: definition.create(name, settings, env),
      timeout_ms: timeout_s === undefined ? null : Math.round(timeout_s * 1000),
    });
  }
  if (!profiles.has(defaultProfile)) {
    throw new RuntimeError("unknown_profile", `default_profile "${defaultProfile}" is not a configured profile`);
  }
  return profiles;
}

export function resolveProfile(profiles: Map<string, Profile>, ref: ProfileRef, defaultProfile: string): Profile {
  const name = ref.kind === "runtime_default" ? defaultProfile : ref.value;
  const profile = ref.kind === "builtin" ? profiles.get(BUILTIN_PROFILE) : profiles.get(name);
  if (!profile) {
    const configured = [...profiles.keys()];
    const guess = closest(name, configured);
    throw new RuntimeError(
      "unknown_profile",
      `profile "${name}" does not exist (${guess === null ? "" : `did you mean "${guess}"? `}configured: ${configured.join(", ")})`,
      { profile: name, configured },
    );
  }
  return profile;
}
