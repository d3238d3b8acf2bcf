interface Waiting<T> {
  item: T;
  resolve: () => void;
  reject: (error: unknown) => void;
}

/** A batch applied (written, not yet necessarily durable); `durable` settles once it is. */
export interface Applied {
  durable: Promise<void>;
}

/**
 * Group commit: items submitted while a batch is being written wait and form the next batch, in
 * submission order, so one sync serves every commit that arrived meanwhile. Two batches may be
 * in flight — one syncing while the next is written — and they settle in order. Items resolve
 * in submission order, once durable. After any failure every later submission fails too
 * (fail-stop for this queue): the session that owns it is replaced by a recovered one (fs-store.ts).
 */
export class GroupCommit<T> {
  private waiting: Waiting<T>[] = [];
  private running: Promise<void> | null = null;
  private failure: unknown = null;
  /** A kick since the loop last ran `between`: the loop must not end before it runs it again. */
  private kicked = false;

  constructor(
    private readonly apply: (items: T[]) => Promise<Applied>,
    /** Runs before each batch (checkpoint bookkeeping); a failure here fails the store too. */
    private readonly between: () => Promise<void>,
    /** The rejection for an item, after `error`; `applied`: its batch was (partly) written before it failed. */
    private readonly failed: (error: unknown, applied: boolean) => unknown,
  ) {}

  submit(item: T): Promise<void> {
    if (this.failure !== null) return Promise.reject(this.failed(this.failure, false));
    return new Promise<void>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      this.kick();
    });
  }

  /** Starts a pass of the loop if none runs (e.g. a checkpoint became due while idle). */
  kick(): void {
    // Started on a microtask, so commits issued in the same tick join the first batch. A kick
    // while the loop is finishing is remembered, or a checkpoint that became due would wait for the next commit.
    this.kicked = true;
    this.running ??= Promise.resolve().then(() => this.loop());
  }

  /** Resolves once everything submitted so far is settled. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  get error(): unknown {
    return this.failure;
  }

  private async loop(): Promise<void> {
    // Settles once every batch applied so far has settled; never rejects.
    let outstanding: Promise<void> = Promise.resolve();
    try {
      for (;;) {
        this.kicked = false;
        if (this.failure === null) {
          try {
            await this.between();
          } catch (error) {
            this.failure = error;
          }
        }
        const batch = this.waiting;
        this.waiting = [];
        if (batch.length === 0) {
          await outstanding;
          if (this.waiting.length === 0 && !this.kicked) break;
          continue;
        }
        if (this.failure !== null) {
          for (const waiting of batch) waiting.reject(this.failed(this.failure, false));
          continue;
        }
        let applied: Applied;
        try {
          applied = await this.apply(batch.map((waiting) => waiting.item));
        } catch (error) {
          this.failure = error;
          for (const waiting of batch) waiting.reject(this.failed(error, true));
          continue;
        }
        const previous = outstanding;
        outstanding = Promise.all([previous, applied.durable]).then(
          () => {
            for (const waiting of batch) waiting.resolve();
          },
          (error) => {
            this.failure ??= error;
            for (const waiting of batch) waiting.reject(this.failed(this.failure, true));
          },
        );
        // The batch before this one must settle before another is written: at most two in flight.
        await previous;
      }
    } finally {
      this.running = null;
    }
  }
}
