import { createLocalJWKSet, type JWK, type JWTVerifyGetKey } from "jose";

/**
 * The public keys signed tokens are checked against: a JWKS (`{"keys": [...]}`) as the Backend
 * publishes it. Only asymmetric signing keys of the algorithms below are taken, each pinned to
 * one algorithm, so a token can never make the runtime use a public key as an HMAC secret or a
 * key with an algorithm it was not published for.
 */
export const TOKEN_ALGORITHMS = ["EdDSA", "Ed25519", "ES256"] as const;
export type TokenAlgorithm = (typeof TOKEN_ALGORITHMS)[number];

/** The algorithm a key is used with when its JWK names none. */
function defaultAlgorithm(jwk: JWK): TokenAlgorithm | null {
  if (jwk.kty === "OKP" && jwk.crv === "Ed25519") return "EdDSA";
  if (jwk.kty === "EC" && jwk.crv === "P-256") return "ES256";
  return null;
}

/** Which curve each algorithm needs: a key declaring an algorithm of another family is refused. */
const FITS: Record<TokenAlgorithm, (jwk: JWK) => boolean> = {
  EdDSA: (jwk) => jwk.kty === "OKP" && jwk.crv === "Ed25519",
  Ed25519: (jwk) => jwk.kty === "OKP" && jwk.crv === "Ed25519",
  ES256: (jwk) => jwk.kty === "EC" && jwk.crv === "P-256",
};

export interface ParsedKeys {
  /** jose's lookup over exactly these keys: by `kid` and algorithm, never outside the set. */
  getKey: JWTVerifyGetKey;
  algorithms: TokenAlgorithm[];
  kids: string[];
}

/** A JWKS that cannot be used; the message names the problem, never key material. */
export class KeySetError extends Error {
  override name = "KeySetError";
}

/**
 * Parses and checks a JWKS document. Refuses the whole document on any bad key (rather than
 * quietly using the rest): a half-applied key rotation is harder to notice than a refused one.
 */
export function parseKeySet(text: string): ParsedKeys {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    throw new KeySetError("not valid JSON");
  }
  const keys = (document as { keys?: unknown } | null)?.keys;
  if (typeof document !== "object" || document === null || !Array.isArray(keys)) {
    throw new KeySetError('not a JWKS: expected {"keys": [...]}');
  }
  if (keys.length === 0) throw new KeySetError("the key set holds no keys");
  const accepted: JWK[] = [];
  const kids = new Set<string>();
  keys.forEach((key: unknown, index) => {
    const where = `keys[${index}]`;
    if (typeof key !== "object" || key === null || Array.isArray(key)) throw new KeySetError(`${where}: not a JWK object`);
    const jwk = key as JWK;
    if ("d" in jwk || "k" in jwk) throw new KeySetError(`${where}: holds secret key material; publish only public keys`);
    if (jwk.use !== undefined && jwk.use !== "sig") throw new KeySetError(`${where}: "use" is ${JSON.stringify(jwk.use)}, not "sig"`);
    const alg = jwk.alg === undefined ? defaultAlgorithm(jwk) : (TOKEN_ALGORITHMS as readonly string[]).includes(jwk.alg) ? (jwk.alg as TokenAlgorithm) : null;
    if (alg === null || !FITS[alg](jwk)) {
      throw new KeySetError(
        `${where}: unsupported key (kty ${String(jwk.kty)}, crv ${String(jwk.crv)}, alg ${String(jwk.alg)}); ` +
          "expected an Ed25519 (EdDSA) or P-256 (ES256) public key",
      );
    }
    if (jwk.kid !== undefined) {
      if (typeof jwk.kid !== "string" || jwk.kid === "") throw new KeySetError(`${where}: "kid" must be a non-empty string`);
      if (kids.has(jwk.kid)) throw new KeySetError(`${where}: kid ${JSON.stringify(jwk.kid)} appears twice`);
      kids.add(jwk.kid);
    }
    accepted.push({ ...jwk, alg });
  });
  return {
    getKey: createLocalJWKSet({ keys: accepted }),
    algorithms: [...new Set(accepted.map((jwk) => jwk.alg as TokenAlgorithm))],
    kids: [...kids],
  };
}

/**
 * The key set in force. `replace` swaps it atomically; a document that does not parse leaves
 * the previous keys in force (a bad deploy of the keys file must not lock every client out).
 * Listeners hear of every change, so cached verifications of tokens made with a key that was
 * just removed are dropped.
 */
export class KeySet {
  private current: ParsedKeys;
  private readonly listeners = new Set<() => void>();

  constructor(initial: ParsedKeys) {
    this.current = initial;
  }

  static fromText(text: string): KeySet {
    return new KeySet(parseKeySet(text));
  }

  get keys(): ParsedKeys {
    return this.current;
  }

  /** Throws `KeySetError` (and keeps the keys in force) when `text` is not a usable key set. */
  replace(text: string): ParsedKeys {
    const next = parseKeySet(text);
    this.current = next;
    for (const listener of this.listeners) listener();
    return next;
  }

  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
}
