import { execFile } from "node:child_process";
import { decodeJwt } from "jose";
import { ConfigError } from "../config/errors.ts";

/** A token is fetched again this long before its `exp` (or after this long when it has none). */
const RENEW_BEFORE_S = 60;
const OPAQUE_TOKEN_TTL_S = 300;
const COMMAND_TIMEOUT_MS = 30_000;

/**
 * `--token-command CMD`: runs CMD through the shell and takes its stdout (trimmed) as the bearer
 * token, then runs it again shortly before that token expires (its JWT `exp`; an opaque token is
 * kept for five minutes). The token is never printed; a failing command fails the call with its
 * exit status, not its output, which might hold a secret.
 */
export function tokenCommandSource(command: string, now: () => number = Date.now): () => Promise<string> {
  if (command.trim() === "") throw new ConfigError("--token-command: must not be empty");
  let current: { token: string; renew_at: number } | null = null;
  let pending: Promise<string> | null = null;
  return () => {
    if (current !== null && now() < current.renew_at) return Promise.resolve(current.token);
    pending ??= run(command)
      .then((token) => {
        current = { token, renew_at: renewAt(token, now()) };
        return token;
      })
      .finally(() => {
        pending = null;
      });
    return pending;
  };
}

function renewAt(token: string, at: number): number {
  let exp: number | undefined;
  try {
    exp = decodeJwt(token).exp;
  } catch {
    // Not a JWT (a static token): renewed on a timer instead.
  }
  if (exp === undefined) return at + OPAQUE_TOKEN_TTL_S * 1000;
  const lifetime_s = exp - at / 1000;
  // A short-lived token is renewed at half its life rather than a minute before its end.
  return at + Math.max(0, Math.min(lifetime_s - RENEW_BEFORE_S, lifetime_s / 2)) * 1000;
}

function run(command: string): Promise<string> {
  const [shell, flag] = process.platform === "win32" ? ["cmd.exe", "/c"] : ["/bin/sh", "-c"];
  return new Promise((resolve, reject) => {
    execFile(shell, [flag, command], { timeout: COMMAND_TIMEOUT_MS, maxBuffer: 64 * 1024 }, (error, stdout) => {
      if (error) {
        const status = typeof error.code === "number" ? `exit status ${error.code}` : error.killed ? "timed out" : error.message;
        reject(new Error(`--token-command failed (${status})`));
        return;
      }
      const token = String(stdout).trim();
      if (token === "" || /\s/.test(token)) reject(new Error("--token-command printed no token (expected one line on stdout)"));
      else resolve(token);
    });
  });
}
