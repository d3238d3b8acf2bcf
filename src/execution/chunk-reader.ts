import type { Buffer } from "node:buffer";
import type { Readable } from "node:stream";

/** Pulls a program's output one chunk at a time; `ChunkReader` (Node stream) or `WebChunkReader`. */
export interface ByteReader {
  /** The next chunk, or null once the stream ended or reading was stopped. */
  read(): Promise<Uint8Array | null>;
  /** Stops reading at once: the pipe is closed and pending and later reads return null. */
  stop(): void;
  /** Stops reading unless the stream ends within `ms`. */
  stopAfter(ms: number): void;
}

/**
 * Pulls chunks from a byte stream one `read()` at a time. The stream is paused while nobody reads,
 * so a child process that writes faster than its output is consumed blocks on its pipe instead of
 * filling this process's memory.
 */
export class ChunkReader implements ByteReader {
  private readonly queue: Buffer[] = [];
  private ended = false;
  private wake: (() => void) | null = null;
  private deadline: ReturnType<typeof setTimeout> | null = null;

  constructor(private readonly stream: Readable) {
    stream.pause();
    stream.on("data", (chunk: Buffer) => {
      this.queue.push(chunk);
      stream.pause();
      this.notify();
    });
    // A failing pipe ends the output like a closed one; the process's exit status tells what happened.
    stream.on("error", () => this.finish());
    stream.on("end", () => this.finish());
    stream.on("close", () => this.finish());
  }

  /** The next chunk, or null once the stream ended or reading was stopped. */
  async read(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.queue.shift();
      if (chunk) return chunk;
      if (this.ended) return null;
      const woken = new Promise<void>((resolve) => (this.wake = resolve));
      this.stream.resume();
      await woken;
    }
  }

  /** Stops reading at once: the pipe is closed and pending and later reads return null. */
  stop(): void {
    this.queue.length = 0;
    this.finish();
    this.stream.destroy();
  }

  /**
   * Stops reading unless the stream ends within `ms`. For a pipe still held open by a process that
   * left the process group, which nothing here can end.
   */
  stopAfter(ms: number): void {
    if (this.ended || this.deadline) return;
    this.deadline = setTimeout(() => this.stop(), ms);
  }

  private finish(): void {
    this.ended = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
    this.notify();
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}
