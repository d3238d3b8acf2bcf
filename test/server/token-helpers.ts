import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from "jose";

/** A signing key made by the test, with the JWK a runtime would be given. */
export interface TestKey {
  kid: string;
  alg: "EdDSA" | "ES256";
  privateKey: CryptoKey;
  publicJwk: JWK;
}

export async function makeKey(kid: string, alg: "EdDSA" | "ES256" = "EdDSA"): Promise<TestKey> {
  const { publicKey, privateKey } = await generateKeyPair(alg, { extractable: true, ...(alg === "EdDSA" ? { crv: "Ed25519" } : {}) });
  return { kid, alg, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } };
}

export const jwksText = (...keys: TestKey[]): string => JSON.stringify({ keys: keys.map((key) => key.publicJwk) });

export interface SignOptions {
  aud?: string | string[];
  scope?: string;
  worker_ids?: unknown;
  iss?: string;
  /** Seconds relative to `now` (default: iat 0, exp +300). */
  iat?: number | null;
  exp?: number | null;
  nbf?: number;
  now?: number;
  kid?: string | null;
  alg?: string;
  extra?: Record<string, unknown>;
}

/** Signs a token as a Backend would; every claim can be bent for the refusal cases. */
export async function sign(key: TestKey, options: SignOptions = {}): Promise<string> {
  const now = Math.floor((options.now ?? Date.now()) / 1000);
  const claims: Record<string, unknown> = { ...options.extra };
  if (options.scope !== undefined) claims.scope = options.scope;
  if (options.worker_ids !== undefined) claims.worker_ids = options.worker_ids;
  const jwt = new SignJWT(claims).setProtectedHeader({
    alg: options.alg ?? key.alg,
    ...(options.kid === null ? {} : { kid: options.kid ?? key.kid }),
  });
  if (options.aud !== undefined) jwt.setAudience(options.aud);
  if (options.iss !== undefined) jwt.setIssuer(options.iss);
  if (options.iat !== null) jwt.setIssuedAt(now + (options.iat ?? 0));
  if (options.exp !== null) jwt.setExpirationTime(now + (options.exp ?? 300));
  if (options.nbf !== undefined) jwt.setNotBefore(now + options.nbf);
  return jwt.sign(key.privateKey);
}

const encoder = new TextEncoder();
const b64url = (bytes: Uint8Array | string): string =>
  Buffer.from(typeof bytes === "string" ? encoder.encode(bytes) : bytes).toString("base64url");

/** A JWS made by hand (no library would sign these): `alg: none`, or HS256 keyed with the public key's bytes. */
export async function forged(kind: "none" | "hs256-public-key", key: TestKey, payload: Record<string, unknown>): Promise<string> {
  const header = { alg: kind === "none" ? "none" : "HS256", typ: "JWT", kid: key.kid };
  const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`;
  if (kind === "none") return `${input}.`;
  // The classic confusion attack: the public key (as its JWK JSON and as its raw x) used as an HMAC secret.
  const secret = encoder.encode(String(key.publicJwk.x));
  const hmac = await crypto.subtle.importKey("raw", secret, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
  const signature = new Uint8Array(await crypto.subtle.sign("HMAC", hmac, encoder.encode(input)));
  return `${input}.${b64url(signature)}`;
}

/** The token with one payload claim changed and the original signature kept. */
export function tampered(token: string, change: Record<string, unknown>): string {
  const [header, payload, signature] = token.split(".") as [string, string, string];
  const claims = { ...JSON.parse(Buffer.from(payload, "base64url").toString("utf8")), ...change };
  return `${header}.${b64url(JSON.stringify(claims))}.${signature}`;
}

/** Reads SSE frames off a response body. */
export class Frames {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private readonly decoder = new TextDecoder();
  private buffer = "";

  constructor(response: Response) {
    this.reader = response.body!.getReader();
  }

  /** The next frame that is not a comment, or null at the end of the stream. */
  async next(): Promise<{ event?: string; id?: string; data?: any } | null> {
    for (;;) {
      const end = this.buffer.indexOf("\n\n");
      if (end >= 0) {
        const text = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end + 2);
        const frame: { event?: string; id?: string; data?: any } = {};
        let comment = true;
        for (const line of text.split("\n")) {
          if (line.startsWith(":")) continue;
          comment = false;
          const colon = line.indexOf(":");
          const field = line.slice(0, colon);
          const value = line.slice(colon + 1).trimStart();
          if (field === "data") frame.data = JSON.parse(value);
          else if (field === "event" || field === "id") frame[field] = value;
        }
        if (!comment) return frame;
        continue;
      }
      const { done, value } = await this.reader.read();
      if (done) return null;
      this.buffer += this.decoder.decode(value, { stream: true });
    }
  }

  cancel(): Promise<void> {
    return this.reader.cancel();
  }
}
