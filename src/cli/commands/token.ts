import { defineCommand } from "citty";
import { readFileSync } from "node:fs";
import { importJWK, SignJWT, type JWK } from "jose";
import { ConfigError } from "../../config/errors.ts";
import { isValidId } from "../../core/ids.ts";
import { write } from "../../platform/index.ts";
import { isScope, SCOPES } from "../../server/scopes.ts";

const DURATION = /^([1-9][0-9]*)(s|m|h|d)?$/;
const UNIT_S = { s: 1, m: 60, h: 3600, d: 86400 } as const;

/** `90`, `90s`, `15m`, `1h`, `1d` → seconds, or null. */
export function parseDuration(text: string): number | null {
  const match = DURATION.exec(text);
  if (!match) return null;
  return Number(match[1]) * UNIT_S[(match[2] ?? "s") as keyof typeof UNIT_S];
}

/**
 * `yoi-runtime token`: signs a token as a Backend would, for development and tests. Prints the
 * token alone on stdout, so `--token-command "yoi-runtime token …"` can use it.
 */
export const tokenCommand = defineCommand({
  meta: { name: "token", description: "Sign a token with a private key from `keygen` (prints the JWT)" },
  args: {
    key: { type: "string", valueHint: "FILE", description: "The private JWK (keygen's private.jwk)", required: true },
    aud: { type: "string", valueHint: "RUNTIME_ID", description: "The runtime id the token is for", required: true },
    scope: { type: "string", valueHint: "SCOPES", description: `Space-separated scopes: ${SCOPES.join(" ")}`, required: true },
    worker: { type: "string", valueHint: "ID[,ID…]", description: "Limit the token to these workers (comma-separated)" },
    ttl: { type: "string", valueHint: "DURATION", description: "Lifetime: 90s, 15m, 1h (default 15m)" },
    iss: { type: "string", valueHint: "ISSUER", description: "Issuer claim (when the runtime checks auth.issuer)" },
    sub: { type: "string", valueHint: "SUBJECT", description: "Subject claim (who the token is for; informational)" },
  },
  run: async ({ args }) => {
    const ttl = parseDuration(args.ttl ?? "15m");
    if (ttl === null) throw new ConfigError(`--ttl: expected a duration like 90s, 15m or 1h, got ${JSON.stringify(args.ttl)}`);
    const scopes = args.scope.split(" ").filter((part) => part !== "");
    const unknown = scopes.filter((scope) => !isScope(scope));
    if (scopes.length === 0 || unknown.length > 0) {
      throw new ConfigError(`--scope: unknown scope ${unknown.join(", ") || "(none given)"}; known: ${SCOPES.join(" ")}`);
    }
    if (!isValidId(args.aud)) throw new ConfigError(`--aud: ${JSON.stringify(args.aud)} is not a runtime id`);
    const workers = args.worker === undefined ? undefined : args.worker.split(",").map((id) => id.trim());
    for (const id of workers ?? []) if (!isValidId(id)) throw new ConfigError(`--worker: ${JSON.stringify(id)} is not a worker id`);

    let jwk: JWK;
    try {
      jwk = JSON.parse(readFileSync(args.key, "utf8")) as JWK;
    } catch (error) {
      throw new ConfigError(`--key: cannot read a JWK from ${args.key}: ${(error as Error).message}`);
    }
    if (typeof jwk.d !== "string") throw new ConfigError(`--key: ${args.key} is not a private key (no "d")`);
    const alg = jwk.alg ?? (jwk.kty === "EC" ? "ES256" : "EdDSA");
    const key = await importJWK(jwk, alg);
    const claims: Record<string, unknown> = { scope: scopes.join(" ") };
    if (workers) claims.worker_ids = workers;
    const jwt = new SignJWT(claims)
      .setProtectedHeader({ alg, typ: "JWT", ...(jwk.kid ? { kid: jwk.kid } : {}) })
      .setAudience(args.aud)
      .setIssuedAt()
      .setExpirationTime(`${ttl}s`);
    if (args.iss) jwt.setIssuer(args.iss);
    if (args.sub) jwt.setSubject(args.sub);
    await write("stdout", `${await jwt.sign(key)}\n`);
  },
});
