import { Buffer } from "node:buffer";

/** Keeps only the last `limit` bytes written to it: a bounded record of a process's stderr. */
export class ByteTail {
  private chunks: Uint8Array[] = [];
  private size = 0;

  constructor(private readonly limit: number) {}

  push(chunk: Uint8Array): void {
    this.chunks.push(chunk);
    this.size += chunk.length;
    // Compact only when well past the limit, so a stream of small writes costs O(1) each.
    if (this.size > this.limit * 2) {
      const kept = Buffer.concat(this.chunks).subarray(this.size - this.limit);
      this.chunks = [kept];
      this.size = kept.length;
    }
  }

  /** The kept bytes as text. A character cut by the limit at the start is dropped, not mangled. */
  text(): string {
    let bytes = Buffer.concat(this.chunks);
    if (bytes.length > this.limit) bytes = bytes.subarray(bytes.length - this.limit);
    let start = 0;
    // Skip UTF-8 continuation bytes (10xxxxxx) left over from a character that began before the cut.
    if (this.size > this.limit) while (start < bytes.length && start < 4 && (bytes[start]! & 0xc0) === 0x80) start++;
    return new TextDecoder("utf-8").decode(bytes.subarray(start));
  }
}
