type Crypto = typeof import("node:crypto");
let crypto: Crypto | undefined;

/**
 * node:crypto, loaded on first use (a static token's check, an Idempotency-Key's fingerprint):
 * a runtime that needs neither never loads it at start.
 */
export const nodeCrypto = (): Crypto => (crypto ??= process.getBuiltinModule("node:crypto") as Crypto);
