import type { ArgsDef } from "citty";
import { createClient, DEFAULT_URL, RuntimeClientError, type RuntimeClient } from "../../client/index.ts";
import { ConfigError } from "../../config/errors.ts";
import { resolveToken } from "../../config/token.ts";
import { RuntimeError } from "../../core/errors.ts";
import { environment } from "../../platform/index.ts";
import { tokenCommandSource } from "../token-command.ts";

/** Environment variables the client commands read when their flag is not given. */
export const URL_ENV = "YOI_RUNTIME_URL";
export const TOKEN_ENV = "YOI_RUNTIME_TOKEN";

/** Flags every client command takes: where the runtime is and where its token is. */
export const clientFlags = {
  url: { type: "string", valueHint: "URL", description: `Runtime URL (default $${URL_ENV}, else ${DEFAULT_URL})` },
  "token-env": {
    type: "string",
    valueHint: "NAME",
    description: `Send the bearer token held in this environment variable (default: $${TOKEN_ENV} when set)`,
  },
  "token-command": {
    type: "string",
    valueHint: "COMMAND",
    description: "Send the token this shell command prints (e.g. a signed token from your Backend); re-run before it expires",
  },
} as const satisfies ArgsDef;

export interface ClientArgs {
  url?: string;
  "token-env"?: string;
  "token-command"?: string;
}

/**
 * The client the flags and environment describe. A URL that is not http(s), or a `--token-env`
 * naming an unset variable, is a command-line error (exit 2). The token is never printed.
 */
export function clientFromArgs(args: ClientArgs): RuntimeClient {
  const env = environment();
  const fromEnv = args.url === undefined && env[URL_ENV] !== undefined && env[URL_ENV] !== "";
  const url = args.url ?? (fromEnv ? env[URL_ENV]! : DEFAULT_URL);
  checkUrl(url, fromEnv ? `$${URL_ENV}` : "--url");
  if (args["token-env"] !== undefined && args["token-command"] !== undefined) {
    throw new ConfigError("--token-command: give either --token-env or --token-command, not both");
  }
  // A named variable is checked as `serve` checks its own (unset, empty, unusable: exit 2).
  const token =
    args["token-command"] !== undefined
      ? tokenCommandSource(args["token-command"])
      : args["token-env"] !== undefined
        ? resolveToken({ token_env: args["token-env"], token_file: null }, env)
        : env[TOKEN_ENV]?.trim() || null;
  return createClient({ url, token });
}

function checkUrl(url: string, source: string): void {
  const protocol = URL.canParse(url) ? new URL(url).protocol : null;
  if (protocol !== "http:" && protocol !== "https:") {
    throw new ConfigError(`${source}: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
}

/**
 * The one line (after `yoi-runtime: `) a failed call is reported with: the runtime's
 * `code: message`, or what to check when it could not be reached.
 */
export function describeFailure(error: unknown): string | null {
  if (error instanceof RuntimeClientError) {
    if (error.code === "connection_failed") return `${error.message} (is the runtime running? set --url or $${URL_ENV})`;
    return `${error.code}: ${error.message}`;
  }
  if (error instanceof RuntimeError) return `${error.code}: ${error.message}`;
  return null;
}

/** An error `main` reports as `yoi-runtime: <message>` with exit status 1. */
export class CommandFailure extends Error {
  constructor(message: string) {
    super(message);
    this.name = "CommandFailure";
  }
}

/** Runs a client command's body, reporting a failed call as one line and exit status 1. */
export async function reportingFailures(body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (error) {
    const line = describeFailure(error);
    if (line !== null) throw new CommandFailure(line);
    throw error;
  }
}
