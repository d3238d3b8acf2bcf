import type { ByteReader } from "./chunk-reader.ts";

/**
 * `ChunkReader` for a web byte stream (a pipe of a program started by the platform's native
 * spawn). A web stream only reads when asked, so a program that writes faster than its output
 * is consumed blocks on its pipe.
 */
export class WebChunkReader implements ByteReader {
  private readonly reader: ReadableStreamDefaultReader<Uint8Array>;
  private ended = false;
  private deadline: ReturnType<typeof setTimeout> | null = null;

  constructor(stream: ReadableStream<Uint8Array>) {
    this.reader = stream.getReader();
  }

  async read(): Promise<Uint8Array | null> {
    if (this.ended) return null;
    try {
      const { done, value } = await this.reader.read();
      if (done) this.finish();
      // Stopped while the read was pending: what it brought is dropped, as stop() promises.
      return this.ended ? null : (value ?? null);
    } catch {
      // A failing pipe ends the output like a closed one; the exit status tells what happened.
      this.finish();
      return null;
    }
  }

  stop(): void {
    if (this.ended) return;
    this.finish();
    // Closes the pipe; a pending read resolves as done.
    this.reader.cancel().catch(() => {});
  }

  stopAfter(ms: number): void {
    if (this.ended || this.deadline) return;
    this.deadline = setTimeout(() => this.stop(), ms);
  }

  private finish(): void {
    this.ended = true;
    if (this.deadline) clearTimeout(this.deadline);
    this.deadline = null;
  }
}
