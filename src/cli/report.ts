import { RuntimeClientError } from "../client/errors.ts";
import { CONFIG_EXIT_CODE, ConfigError } from "../config/errors.ts";
import { RuntimeError } from "../core/errors.ts";
import { write } from "../platform/index.ts";
import { URL_ENV } from "./client-env.ts";
import { StartupError } from "./startup-error.ts";
import { UsageError } from "./usage-error.ts";

export const PROGRAM = "yoi-runtime";

/** What went wrong, as the API words its errors (`{code, message, details?}`), and the exit status. */
export interface Failure {
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** The human line (after `yoi-runtime: `): the runtime's refusals keep their code in front. */
  line: string;
  exitCode: number;
  /** A command-line mistake: the usage line helps. */
  showUsage: boolean;
}

/**
 * Every error a command can end with, classified once: command-line and configuration mistakes
 * exit 2, everything else (a refusal of the runtime, no connection, a failed start) exits 1.
 */
export function failureOf(error: unknown): Failure {
  if (error instanceof UsageError || (error instanceof Error && error.name === "CLIError")) {
    // citty's own wording (`Missing required positional argument: WORKER`) in the CLI's.
    const message = error.message.replace(/^Missing required positional argument: (\S+)$/, "missing <$1>");
    return { code: "usage_error", message, line: message, exitCode: CONFIG_EXIT_CODE, showUsage: true };
  }
  const own = (code: string, message: string, exitCode: number): Failure => ({ code, message, line: message, exitCode, showUsage: false });
  if (error instanceof ConfigError) return own("config_error", error.message, CONFIG_EXIT_CODE);
  if (error instanceof StartupError) return own(error.code, error.message, error.exitCode);
  if (error instanceof RuntimeClientError && error.code === "connection_failed") {
    return own(error.code, `${error.message} (is the runtime running? set --url or $${URL_ENV})`, 1);
  }
  if (error instanceof RuntimeClientError || error instanceof RuntimeError) {
    const details = error.details ? { details: error.details } : {};
    return { code: error.code, message: error.message, ...details, line: `${error.code}: ${error.message}`, exitCode: 1, showUsage: false };
  }
  return own("internal", error instanceof Error ? error.message : String(error), 1);
}

/**
 * Prints a failure once on stderr: `yoi-runtime: …` (plus the usage line for a command-line
 * mistake), or with `--json` one `{"error":{…}}` line. Resolves with the exit status.
 */
export async function reportFailure(failure: Failure, options: { json: boolean; usage: string | null; helpCommand: string | null }): Promise<number> {
  if (options.json) {
    const details = { ...failure.details, ...(failure.showUsage && options.usage ? { usage: options.usage } : {}) };
    const body = { code: failure.code, message: failure.message, ...(Object.keys(details).length > 0 ? { details } : {}) };
    await write("stderr", `${JSON.stringify({ error: body })}\n`);
    return failure.exitCode;
  }
  let text = `${PROGRAM}: ${failure.line}\n`;
  if (failure.showUsage && options.usage) {
    text += `usage: ${options.usage}\n`;
    if (options.helpCommand) text += `Run \`${options.helpCommand} --help\` for details.\n`;
  }
  await write("stderr", text);
  return failure.exitCode;
}
