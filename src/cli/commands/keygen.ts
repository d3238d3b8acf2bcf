import { defineCommand } from "citty";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { exportJWK, generateKeyPair } from "jose";
import { ConfigError } from "../../config/errors.ts";
import { write, workingDirectory } from "../../platform/index.ts";

const ALGORITHMS = { EdDSA: { crv: "Ed25519" }, ES256: {} } as const;
type Algorithm = keyof typeof ALGORITHMS;

/**
 * `yoi-runtime keygen --out DIR`: a signing key pair for development and tests. The Backend keeps
 * `private.jwk`; every runtime gets `jwks.json` as its `auth.public_keys_file`.
 */
export const keygenCommand = defineCommand({
  meta: { name: "keygen", description: "Make a signing key pair for signed tokens: DIR/private.jwk, DIR/public.jwk, DIR/jwks.json" },
  args: {
    out: { type: "string", valueHint: "DIR", description: "Directory to write the keys to (created if missing)", required: true },
    alg: { type: "string", valueHint: "EdDSA|ES256", description: "Signature algorithm (default EdDSA, Ed25519)" },
    kid: { type: "string", valueHint: "ID", description: "Key id (default: k- and the date)" },
    force: { type: "boolean", description: "Overwrite an existing private.jwk" },
  },
  run: async ({ args }) => {
    const alg = (args.alg ?? "EdDSA") as Algorithm;
    if (!Object.hasOwn(ALGORITHMS, alg)) throw new ConfigError(`--alg: expected EdDSA or ES256, got ${JSON.stringify(args.alg)}`);
    const dir = resolve(workingDirectory(), args.out);
    const kid = args.kid ?? `k-${new Date().toISOString().slice(0, 10)}`;
    if (kid === "") throw new ConfigError("--kid: must not be empty");
    const privatePath = join(dir, "private.jwk");
    if (existsSync(privatePath) && args.force !== true) {
      throw new ConfigError(`--out: ${privatePath} exists; pass --force to replace it (tokens signed with it stop verifying)`);
    }
    const { publicKey, privateKey } = await generateKeyPair(alg, { ...ALGORITHMS[alg], extractable: true });
    const meta = { kid, alg, use: "sig" };
    const publicJwk = { ...(await exportJWK(publicKey)), ...meta };
    const privateJwk = { ...(await exportJWK(privateKey)), ...meta };
    mkdirSync(dir, { recursive: true });
    // The private key is readable by its owner only.
    writeFileSync(privatePath, `${JSON.stringify(privateJwk, null, 2)}\n`, { mode: 0o600 });
    writeFileSync(join(dir, "public.jwk"), `${JSON.stringify(publicJwk, null, 2)}\n`);
    writeFileSync(join(dir, "jwks.json"), `${JSON.stringify({ keys: [publicJwk] }, null, 2)}\n`);
    await write(
      "stdout",
      `wrote ${privatePath} (keep it on the Backend), ${join(dir, "public.jwk")} and ${join(dir, "jwks.json")} ` +
        `(set [auth] public_keys_file to it on each runtime); kid ${kid}, alg ${alg}\n`,
    );
  },
});
