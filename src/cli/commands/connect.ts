import { resolve } from "node:path";
import type { ArgsDef } from "citty";
import { createClient, DEFAULT_URL, type RuntimeClient } from "../../client/index.ts";
import { resolveToken } from "../../config/token.ts";
import { RuntimeError } from "../../core/errors.ts";
import { assertWorkerId } from "../../core/ids.ts";
import { environment, workingDirectory } from "../../platform/index.ts";
import { TOKEN_ENV, URL_ENV } from "../client-env.ts";
import { tokenCommandSource } from "../token-command.ts";
import { UsageError } from "../usage-error.ts";

export { TOKEN_ENV, URL_ENV } from "../client-env.ts";

/** Flags every client command takes: where the runtime is and where its token is. */
export const clientFlags = {
  url: { type: "string", valueHint: "URL", description: `Runtime URL (default $${URL_ENV}, else ${DEFAULT_URL})` },
  "token-env": {
    type: "string",
    valueHint: "NAME",
    description: `Send the bearer token held in this environment variable (default: $${TOKEN_ENV} when set)`,
  },
  "token-file": { type: "string", valueHint: "PATH", description: "Send the bearer token held in this file" },
  "token-command": {
    type: "string",
    valueHint: "COMMAND",
    description: "Send the token this shell command prints (e.g. a signed token from your Backend); re-run before it expires",
  },
} as const satisfies ArgsDef;

/** `<WORKER>`, the first argument of every command about one worker (shell completion offers worker ids here). */
export const workerPositional = {
  worker: { type: "positional", required: true, valueHint: "WORKER", description: "Worker id" },
} as const satisfies ArgsDef;

/** `--json` as every read command declares it. */
export const jsonFlag = {
  json: { type: "boolean", description: "Print the runtime's JSON answer (one document) instead of text" },
} as const satisfies ArgsDef;

export interface ClientArgs {
  url?: string;
  "token-env"?: string;
  "token-file"?: string;
  "token-command"?: string;
}

/**
 * The client the flags and environment describe. A URL that is not http(s), or a token source
 * that is unset, empty or unreadable, is a command-line error (exit 2). The token is never printed.
 */
export function clientFromArgs(args: ClientArgs): RuntimeClient {
  const env = environment();
  const fromEnv = args.url === undefined && env[URL_ENV] !== undefined && env[URL_ENV] !== "";
  const url = args.url ?? (fromEnv ? env[URL_ENV]! : DEFAULT_URL);
  checkUrl(url, fromEnv ? `$${URL_ENV}` : "--url");
  const sources = (["token-env", "token-file", "token-command"] as const).filter((flag) => args[flag] !== undefined);
  if (sources.length > 1) throw new UsageError(`${sources.map((flag) => `--${flag}`).join(" and ")} exclude each other`);
  // A named source is checked as `serve` checks its own (unset, empty, unusable: exit 2).
  const token =
    args["token-command"] !== undefined
      ? tokenCommandSource(args["token-command"])
      : args["token-env"] !== undefined || args["token-file"] !== undefined
        ? resolveToken(
            {
              token_env: args["token-env"] ?? null,
              token_file: args["token-file"] === undefined ? null : resolve(workingDirectory(), args["token-file"]),
            },
            env,
          )
        : env[TOKEN_ENV]?.trim() || null;
  return createClient({ url, token });
}

function checkUrl(url: string, source: string): void {
  const protocol = URL.canParse(url) ? new URL(url).protocol : null;
  if (protocol !== "http:" && protocol !== "https:") {
    throw new UsageError(`${source}: expected an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
}

/** A worker id from the command line; a malformed one is a command-line mistake (exit 2). */
export function workerArg(value: unknown, what = "WORKER"): string {
  try {
    return assertWorkerId(value);
  } catch (error) {
    if (error instanceof RuntimeError) throw new UsageError(`${what}: ${error.message}`);
    throw error;
  }
}

/** Refuses positionals beyond the ones a command declares (citty would ignore them). */
export function expectPositionals(args: { _: string[] }, count: number, where: string): void {
  if (args._.length > count) {
    throw new UsageError(`unexpected argument ${JSON.stringify(args._[count])} for \`yoi-runtime ${where}\``);
  }
}

/** A whole number from a flag, within bounds; anything else is a command-line mistake. */
export function countArg(value: string | undefined, flag: string, min = 0, max = Number.MAX_SAFE_INTEGER): number | undefined {
  if (value === undefined) return undefined;
  const number = /^(0|[1-9][0-9]{0,15})$/.test(value) ? Number(value) : NaN;
  if (!(number >= min && number <= max)) {
    throw new UsageError(`${flag}: expected a whole number from ${min}${max === Number.MAX_SAFE_INTEGER ? "" : ` to ${max}`}, got ${JSON.stringify(value)}`);
  }
  return number;
}

/** One of `allowed`, named in the message when it is not. */
export function choiceArg<T extends string>(value: string | undefined, flag: string, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(", ")} (got ${JSON.stringify(value)})`);
  }
  return value as T;
}
