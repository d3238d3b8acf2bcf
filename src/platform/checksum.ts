type Crc32 = typeof import("node:zlib").crc32;
let crc32: Crc32 | undefined;

/**
 * CRC-32 (IEEE) of `data` (a string counts as its UTF-8 bytes), continuing from `previous`.
 * node:zlib's native crc32 is used because Bun and Deno both provide it and give the same
 * answers, so a store written under one runtime verifies under the other. node:zlib is loaded
 * on the first checksum, not at start (milliseconds a memory store never needs to pay).
 */
export function checksum(data: string | Uint8Array, previous = 0): number {
  crc32 ??= (process.getBuiltinModule("node:zlib") as typeof import("node:zlib")).crc32;
  return crc32(data, previous);
}

/** A checksum as the 8 lowercase hex digits the store writes. */
export function checksumHex(data: string | Uint8Array, previous = 0): string {
  return checksum(data, previous).toString(16).padStart(8, "0");
}
