/**
 * A configuration the process refuses to start with: a bad flag, an unknown or mistyped TOML key,
 * unreadable TOML, a missing config or token file. The message names the flag or key, so the
 * operator can fix it without reading code; the CLI prints it and exits 2 before anything starts.
 */
export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Exit status of a refused configuration or command line (the convention of `getopt` tools). */
export const CONFIG_EXIT_CODE = 2;
