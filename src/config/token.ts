import { readFileSync } from "node:fs";
import { ConfigError } from "./errors.ts";
import type { ResolvedConfig } from "./resolved.ts";
import { errnoCode } from "../shared/errors.ts";

/** Anything a bearer token cannot carry in an `Authorization` header, or would carry invisibly. */
const ENV_SOURCE = "--token-env / auth.token_env";
const FILE_SOURCE = "--token-file / auth.token_file";

const UNUSABLE = /[\s\u0000-\u001f\u007f]/;

/**
 * The bearer token `serve` requires, or null when none is configured. Read from the environment
 * variable named by `auth.token_env` or from the file `auth.token_file` (surrounding whitespace
 * trimmed, so a trailing newline does not count). A named source that is unset, empty or
 * unreadable is a `ConfigError`: starting without the token the operator asked for would leave
 * the API open. Messages name the source, never the value.
 */
export function resolveToken(auth: Pick<ResolvedConfig["auth"], "token_env" | "token_file">, env: Record<string, string | undefined>): string | null {
  let token: string;
  if (auth.token_env !== null) {
    const value = env[auth.token_env];
    if (value === undefined) throw new ConfigError(`${ENV_SOURCE}: environment variable ${auth.token_env} is not set`);
    token = value.trim();
    if (token === "") throw new ConfigError(`${ENV_SOURCE}: environment variable ${auth.token_env} is empty`);
  } else if (auth.token_file !== null) {
    try {
      token = readFileSync(auth.token_file, "utf8").trim();
    } catch (error) {
      const code = errnoCode(error);
      const reason = code === "ENOENT" ? "does not exist" : `cannot be read (${code ?? (error as Error).message})`;
      throw new ConfigError(`${FILE_SOURCE}: token file ${auth.token_file} ${reason}`);
    }
    if (token === "") throw new ConfigError(`${FILE_SOURCE}: token file ${auth.token_file} is empty`);
  } else {
    return null;
  }
  if (UNUSABLE.test(token)) {
    const where = auth.token_env !== null ? `${ENV_SOURCE}: ${auth.token_env}` : `${FILE_SOURCE}: ${auth.token_file}`;
    throw new ConfigError(`${where}: the token contains whitespace or control characters`);
  }
  return token;
}
