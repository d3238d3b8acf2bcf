/** Variables a child program inherits from the runtime's environment; everything else comes from its profile's `env`. */
export const INHERITED_ENV = ["PATH", "HOME", "LANG"] as const;

/** The environment of a `command` or `acp` program: the inherited allowlist, then the profile's `env`. */
export function childEnv(parentEnv: Record<string, string | undefined>, own: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of INHERITED_ENV) {
    const value = parentEnv[name];
    if (value !== undefined) env[name] = value;
  }
  return { ...env, ...own };
}
