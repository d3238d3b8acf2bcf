import { RuntimeError } from "./errors.ts";
import type { RuntimeEvent, StoredEvent } from "./schema/event.ts";

/** Thrown by a subscription whose consumer fell `queue_limit` events behind; resume from `last_event_id`. */
export class SubscriptionOverflowError extends Error {
  readonly last_event_id: number;
  constructor(last_event_id: number) {
    super(`subscriber fell too far behind; resume after event ${last_event_id}`);
    this.name = "SubscriptionOverflowError";
    this.last_event_id = last_event_id;
  }
}

export interface SubscribeOptions {
  /** Replay stored events with id > after, then follow live. Omitted: live only, from now. */
  after?: number;
  worker_id?: string;
  /** Events a consumer may fall behind before the subscription fails with SubscriptionOverflowError. */
  queue_limit?: number;
  signal?: AbortSignal;
}

export interface EventSource {
  readEvents(after: number, limit: number, worker_id?: string): Promise<StoredEvent[]>;
  /** Throws `cursor_expired` when events after `after` were pruned. */
  checkCursor(after: number): void;
}

const REPLAY_BATCH = 256;

/**
 * One consumer of the runtime's events: replays stored events after its cursor, then delivers live
 * ones. Live events that arrive during the replay are held and de-duplicated by id, so the switch
 * from replay to live loses and repeats nothing. Memory is bounded by `queue_limit`.
 */
export class EventSubscription implements AsyncIterableIterator<RuntimeEvent> {
  private readonly buffer: RuntimeEvent[] = [];
  private readonly held: RuntimeEvent[] = [];
  private replaying = true;
  /** Highest stored id queued so far: anything at or below it is a duplicate. */
  private queuedId: number;
  /** Highest stored id handed to the consumer: where a resume must start. */
  private deliveredId: number;
  /** Pending next() calls, oldest first: a consumer may call next() again before the last one settled. */
  private readonly waiters: Array<{ resolve: (r: IteratorResult<RuntimeEvent>) => void; reject: (e: unknown) => void }> =
    [];
  private spaceWaiter: (() => void) | null = null;
  private failure: unknown = null;
  private finished = false;
  private readonly limit: number;
  /** Replay reads at most this many events at a time, so one batch always fits in the queue. */
  private readonly batchSize: number;
  /** Replay reads its next batch once the queue is down to this many events. */
  private readonly resumeAt: number;
  private readonly onAbort = () => this.close();

  constructor(
    private readonly source: EventSource,
    private readonly detach: (s: EventSubscription) => void,
    after: number,
    private readonly options: SubscribeOptions,
  ) {
    this.queuedId = after;
    this.deliveredId = after;
    this.limit = options.queue_limit ?? 10_000;
    this.batchSize = Math.min(REPLAY_BATCH, this.limit);
    this.resumeAt = Math.min(REPLAY_BATCH, this.limit - this.batchSize);
  }

  /**
   * Begins the replay. Called by the runtime once this subscription receives live events, so an
   * already-aborted signal detaches it after it was attached (never before, which would leak it).
   */
  start(): void {
    if (this.options.signal?.aborted) return this.close();
    this.options.signal?.addEventListener("abort", this.onAbort, { once: true });
    void this.replay();
  }

  /** Called by the runtime for every published event. */
  deliver(event: RuntimeEvent): void {
    if (this.finished) return;
    if (this.options.worker_id !== undefined && event.worker_ref?.worker_id !== this.options.worker_id) return;
    if (this.replaying) {
      this.held.push(event);
      if (this.held.length > this.limit) this.fail(new SubscriptionOverflowError(this.deliveredId));
    } else {
      this.enqueue(event);
    }
  }

  private enqueue(event: RuntimeEvent): void {
    if (event.id !== null) {
      if (event.id <= this.queuedId) return;
      this.queuedId = event.id;
    }
    const waiter = this.waiters.shift();
    if (waiter) {
      this.markDelivered(event);
      waiter.resolve({ value: event, done: false });
      return;
    }
    this.buffer.push(event);
    if (this.buffer.length > this.limit) this.fail(new SubscriptionOverflowError(this.deliveredId));
  }

  private async replay(): Promise<void> {
    try {
      for (;;) {
        this.source.checkCursor(this.queuedId);
        const batch = await this.source.readEvents(this.queuedId, this.batchSize, this.options.worker_id);
        if (this.finished) return;
        for (const event of batch) this.enqueue(event);
        if (batch.length < this.batchSize) break;
        // Back-pressure: stored events are pulled as the consumer reads; only live ones can overflow.
        while (this.buffer.length > this.resumeAt && !this.finished) {
          await new Promise<void>((resolve) => (this.spaceWaiter = resolve));
        }
        if (this.finished) return;
      }
      this.replaying = false;
      for (const event of this.held.splice(0)) this.enqueue(event);
    } catch (error) {
      this.fail(error);
    }
  }

  private markDelivered(event: RuntimeEvent): void {
    if (event.id !== null) this.deliveredId = event.id;
  }

  next(): Promise<IteratorResult<RuntimeEvent>> {
    const event = this.buffer.shift();
    if (event) {
      this.markDelivered(event);
      if (this.spaceWaiter && this.buffer.length <= this.resumeAt) {
        const wake = this.spaceWaiter;
        this.spaceWaiter = null;
        wake();
      }
      return Promise.resolve({ value: event, done: false });
    }
    if (this.failure) {
      const failure = this.failure;
      this.failure = null;
      return Promise.reject(failure);
    }
    if (this.finished) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /**
   * Up to `max` events that are already queued, without waiting: lets a consumer that writes to a
   * socket send what piled up in one write.
   */
  takeQueued(max: number): RuntimeEvent[] {
    const taken = this.buffer.splice(0, max);
    for (const event of taken) this.markDelivered(event);
    if (taken.length > 0 && this.spaceWaiter && this.buffer.length <= this.resumeAt) {
      const wake = this.spaceWaiter;
      this.spaceWaiter = null;
      wake();
    }
    return taken;
  }

  return(): Promise<IteratorResult<RuntimeEvent>> {
    this.close();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  /** Last stored event id handed to the consumer. */
  get lastEventId(): number {
    return this.deliveredId;
  }

  /** Ends the subscription at once, dropping whatever is queued (the consumer is gone). */
  close(): void {
    this.buffer.length = 0;
    this.end();
  }

  /** No more events will come (the runtime is closing); what is already queued is still handed out. */
  end(): void {
    if (this.finished) return;
    this.finished = true;
    // Held events wait for a replay that will not finish; handing them out would leave a gap.
    this.held.length = 0;
    this.detach(this);
    this.options.signal?.removeEventListener("abort", this.onAbort);
    this.spaceWaiter?.();
    this.spaceWaiter = null;
    for (const waiter of this.waiters.splice(0)) {
      if (this.failure) {
        const failure = this.failure;
        this.failure = null;
        waiter.reject(failure);
      } else waiter.resolve({ value: undefined, done: true });
    }
  }

  private fail(error: unknown): void {
    if (this.finished) return;
    this.failure = error instanceof Error ? error : new RuntimeError("internal", String(error));
    this.close();
  }
}
