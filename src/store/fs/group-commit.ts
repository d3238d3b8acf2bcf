interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/**
 * Group commit: items submitted while a flush is running wait and are flushed together in the
 * next one, in submission order, so one sync serves every commit that arrived meanwhile.
 * Items resolve in submission order. After a failed flush every later submission fails too
 * (fail-stop): what reached the disk is then unknown, and only a reopen (replay) settles it.
 */
export class GroupCommit<T> {
  private waiting: Waiting<T>[] = [];
  private running: Promise<void> | null = null;
  private failure: unknown = null;

  constructor(
    private readonly flush: (items: T[]) => Promise<void>,
    /** Runs between flushes (checkpoint bookkeeping); a failure here fails the store too. */
    private readonly between: () => Promise<void>,
    private readonly failed: (error: unknown) => unknown,
  ) {}

  submit(item: T): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failed(this.failure));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.kick();
    });
  }

  /** Starts a pass of the loop if none runs (e.g. a checkpoint became due while idle). */
  kick(): void {
    // Started on a microtask, so commits issued in the same tick join the first batch.
    this.running ??= Promise.resolve().then(() => this.loop());
  }

  /** Resolves once everything submitted so far is flushed (or failed). */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  get error(): unknown {
    return this.failure;
  }

  private async loop(): Promise<void> {
    try {
      for (;;) {
        if (this.failure === null) {
          try {
            await this.between();
          } catch (error) {
            this.failure = error;
          }
        }
        const batch = this.waiting;
        if (batch.length === 0) break;
        this.waiting = [];
        if (this.failure !== null) {
          for (const waiting of batch) waiting.reject(this.failed(this.failure));
          continue;
        }
        try {
          await this.flush(batch.map((waiting) => waiting.item));
          for (const waiting of batch) waiting.resolve();
        } catch (error) {
          this.failure = error;
          for (const waiting of batch) waiting.reject(this.failed(error));
        }
      }
    } finally {
      this.running = null;
    }
  }
}
