import { crc32 } from "node:zlib";

/**
 * CRC-32 (IEEE) of `data` (a string counts as its UTF-8 bytes), continuing from `previous`.
 * node:zlib's native crc32 is used because Bun and Deno both provide it and give the same
 * answers, so a store written under one runtime verifies under the other.
 */
export function checksum(data: string | Uint8Array, previous = 0): number {
  return crc32(data, previous);
}

/** A checksum as the 8 lowercase hex digits the store writes. */
export function checksumHex(data: string | Uint8Array, previous = 0): string {
  return checksum(data, previous).toString(16).padStart(8, "0");
}
