import { CONFIG_EXIT_CODE } from "../config/errors.ts";

/**
 * `serve` could not start: one human sentence naming the flag or key to look at, printed as
 * `yoi-runtime: …` whatever the log format (JSON logs are for the running server). Exit 2 when
 * the configuration must change, 1 for a fault of the environment (port in use, store locked).
 */
export class StartupError extends Error {
  constructor(
    message: string,
    readonly code: string,
    readonly exitCode: 1 | typeof CONFIG_EXIT_CODE,
  ) {
    super(message);
    this.name = "StartupError";
  }
}
