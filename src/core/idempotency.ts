import { RuntimeError } from "./errors.ts";
import type { StoreCommit } from "./ports/store.ts";
import type { IdempotencyRecord } from "./schema/idempotency.ts";

/**
 * Safe retries (SPEC §10 Idempotency-Key): the first acknowledged answer of an operation is kept
 * under its key, in the same store commit as the operation; a retry with the same key and request
 * gets that answer back and applies nothing again; the same key with another request fails
 * `idempotency_key_reused`. Failures are not kept: a retry after one runs again.
 */

/** What a caller passes to make an operation retryable. */
export interface IdempotencyOption {
  /** 1–255 visible ASCII characters (0x21–0x7E). */
  key: string;
  /**
   * Identifies the request: the same key with another fingerprint fails `idempotency_key_reused`.
   * Default: a digest of the operation and its arguments. The HTTP layer passes one of the
   * method, route, ids and canonical body.
   */
  fingerprint?: string;
  /** Whose key it is (the HTTP layer: a signed token's subject): keys of different scopes never meet. Default "". */
  scope?: string;
}

/** Options every write operation of the core takes. */
export interface WriteOptions {
  idempotency?: IdempotencyOption;
}

const KEY = /^[\x21-\x7E]{1,255}$/;
const MAX_SCOPE = 1024;

/** Refuses a key that is not 1–255 visible ASCII characters. */
export function checkIdempotencyKey(key: unknown): string {
  if (typeof key !== "string" || !KEY.test(key)) {
    throw new RuntimeError("invalid_request", "idempotency key must be 1-255 visible ASCII characters (0x21-0x7E)", { field: "idempotency key" });
  }
  return key;
}

/** JSON with object keys sorted and `undefined` members dropped: equal requests, equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== "object") return JSON.stringify(value) ?? "null";
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item === undefined ? null : item)).join(",")}]`;
  const members = Object.keys(value)
    .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
    .sort()
    .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`);
  return `{${members.join(",")}}`;
}

/** SHA-256 (hex) of the canonical JSON of `parts`: a request's fingerprint, short whatever its body. */
export async function requestFingerprint(parts: readonly unknown[]): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonicalJson(parts)));
  return [...new Uint8Array(digest)].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

const ledgerId = (scope: string, key: string): string => `${scope}\n${key}`;

/** A request with the key under way: a concurrent one with the same key waits for it. */
interface Pending {
  fingerprint: string;
  done: Promise<void>;
}

/**
 * The kept answers, by scope and key, in the order they were kept; expired ones are dropped as
 * the ledger is used, so memory holds at most a retention period's worth.
 */
export class IdempotencyLedger {
  private readonly kept = new Map<string, IdempotencyRecord>();
  private readonly pending = new Map<string, Pending>();

  constructor(
    readonly retention_ms: number,
    readonly now: () => number,
  ) {}

  /** Records a store gave back on open (oldest first). */
  load(records: readonly IdempotencyRecord[]): void {
    for (const record of [...records].sort((a, b) => a.created_at - b.created_at)) this.kept.set(ledgerId(record.scope, record.key), record);
    this.prune();
  }

  get size(): number {
    this.prune();
    return this.kept.size;
  }

  private expired(record: IdempotencyRecord): boolean {
    return this.now() - record.created_at >= this.retention_ms;
  }

  private prune(): void {
    for (const [id, record] of this.kept) {
      if (!this.expired(record)) break;
      this.kept.delete(id);
    }
  }

  find(id: string): IdempotencyRecord | undefined {
    this.prune();
    const record = this.kept.get(id);
    return record && !this.expired(record) ? record : undefined;
  }

  keep(record: IdempotencyRecord): void {
    const id = ledgerId(record.scope, record.key);
    this.kept.delete(id);
    this.kept.set(id, record);
    this.prune();
  }

  pendingOf(id: string): Pending | undefined {
    return this.pending.get(id);
  }

  begin(id: string, fingerprint: string): () => void {
    let end!: () => void;
    const done = new Promise<void>((resolve) => (end = resolve));
    this.pending.set(id, { fingerprint, done });
    return () => {
      this.pending.delete(id);
      end();
    };
  }
}

/**
 * The key of one operation under way. The operation calls `attach` on the commit that applies it,
 * with the answer it will give, so the key and the operation are durable together; an operation
 * that applies nothing itself (a repeated stop, a cancel with no active run) leaves it unattached,
 * and the key is then committed alone once the answer is known.
 */
export class IdempotencyClaim {
  record: IdempotencyRecord | null = null;

  constructor(
    private readonly identity: Omit<IdempotencyRecord, "result" | "created_at">,
    private readonly now: () => number,
  ) {}

  /** Adds the key, answering with `result`, to `commit`; returns `result`. */
  attach<T>(commit: StoreCommit, result: T): T {
    this.record = this.recordOf(result);
    (commit.idempotency ??= []).push(this.record);
    return result;
  }

  recordOf(result: unknown): IdempotencyRecord {
    // A copy: what the caller later does with its answer must not change the kept one.
    return { ...this.identity, result: JSON.parse(JSON.stringify(result)), created_at: this.now() };
  }
}

interface IdempotencyHost {
  idempotency: IdempotencyLedger;
  commit(commit: StoreCommit): Promise<void>;
}

/**
 * Runs `operation` once per key (`args` feed the default fingerprint): a kept answer for the same request is given back (a copy), the
 * same key with another request fails `idempotency_key_reused`, and a request whose key is under
 * way waits for it and then answers the same (or runs, when the first one failed).
 */
export async function idempotent<T>(
  host: IdempotencyHost,
  option: IdempotencyOption | undefined,
  name: string,
  args: () => readonly unknown[],
  operation: (claim: IdempotencyClaim | null) => Promise<T>,
): Promise<T> {
  if (option === undefined) return operation(null);
  if (typeof option !== "object" || option === null) throw new RuntimeError("invalid_request", "idempotency must be { key, fingerprint?, scope? }");
  const key = checkIdempotencyKey(option.key);
  const scope = option.scope ?? "";
  if (typeof scope !== "string" || scope.length > MAX_SCOPE) throw new RuntimeError("invalid_request", `idempotency scope must be a string of at most ${MAX_SCOPE} characters`);
  if (option.fingerprint !== undefined && (typeof option.fingerprint !== "string" || !/^[\x21-\x7E]{1,128}$/.test(option.fingerprint))) {
    throw new RuntimeError("invalid_request", "idempotency fingerprint must be 1-128 visible ASCII characters");
  }
  const fingerprint = option.fingerprint ?? (await requestFingerprint([name, ...args()]));
  const id = ledgerId(scope, key);
  const ledger = host.idempotency;
  for (;;) {
    const kept = ledger.find(id);
    if (kept) {
      sameRequest(kept.fingerprint, fingerprint, kept.operation);
      return JSON.parse(JSON.stringify(kept.result)) as T;
    }
    const pending = ledger.pendingOf(id);
    if (!pending) break;
    sameRequest(pending.fingerprint, fingerprint, name);
    await pending.done;
  }
  const end = ledger.begin(id, fingerprint);
  const claim = new IdempotencyClaim({ scope, key, fingerprint, operation: name }, ledger.now);
  try {
    // A failed commit keeps nothing, whatever its outcome: a store that answers
    // `details.outcome: "unknown"` takes the batch back once it recovers in process (the retry
    // then applies it once), and after a crash the key was in the same batch as its operation, so
    // the reopened store holds both or neither.
    const result = await operation(claim);
    let record = claim.record;
    if (record === null) {
      record = claim.recordOf(result);
      await host.commit({ idempotency: [record] });
    }
    ledger.keep(record);
    return result;
  } finally {
    end();
  }
}

function sameRequest(kept: string, presented: string, operation: string): void {
  if (kept !== presented) {
    throw new RuntimeError("idempotency_key_reused", `this Idempotency-Key was already used with a different request (${operation})`, {
      operation,
    });
  }
}
