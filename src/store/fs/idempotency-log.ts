import { IdempotencyRecord } from "../../core/schema/idempotency.ts";
import type { IdempotencyRecord as IdempotencyRecordType } from "../../core/schema/idempotency.ts";
import type { BatchPlan } from "./batch-plan.ts";
import type { StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { readSealedGenerations } from "./sealed-generations.ts";
import { sealLine } from "./sealed-line.ts";

interface Generation {
  number: number;
  path: string;
  bytes: number;
  /** Epoch ms of its first and last record. */
  first_at: number;
  last_at: number;
}

/**
 * Answers kept under their Idempotency-Key (SPEC §10): idempotency/<generation>.jsonl, one sealed
 * record a line, appended through the journal in the batch of the operation each answers — so a
 * crash keeps both or neither. A generation takes records for half the retention period; a
 * generation whose newest record has expired is removed (in a batch, like any removal), so the
 * files hold between one and one and a half retention periods. The records live in the core's
 * ledger once loaded; this keeps only where each file ends.
 */
export class IdempotencyLog {
  private generations: Generation[] = [];

  constructor(
    private readonly paths: StorePaths,
    private readonly retentionMs: number,
    private readonly now: () => number,
  ) {}

  /** Reads every generation: unexpired records, oldest first. A torn last line is cut; a damaged one is reported and skipped. */
  load(repairs: Repairs): IdempotencyRecordType[] {
    const kept: IdempotencyRecordType[] = [];
    const cutoff = this.now() - this.retentionMs;
    for (const read of readSealedGenerations<IdempotencyRecordType>(this.paths, "idempotency", (n) => this.paths.idempotency(n), IdempotencyRecord, repairs)) {
      const generation: Generation = { number: read.number, path: read.path, bytes: read.bytes, first_at: Number.POSITIVE_INFINITY, last_at: 0 };
      for (const record of read.records) {
        generation.first_at = Math.min(generation.first_at, record.created_at);
        generation.last_at = Math.max(generation.last_at, record.created_at);
        if (record.created_at > cutoff) kept.push(record);
      }
      for (const offset of read.damaged) {
        // Never served: a retry with that key runs again. Still on disk for whoever looks.
        repairs.add("error", "store_corrupt", `${read.path} is damaged at byte ${offset}; that idempotency key is forgotten`, null, { file: read.path, offset });
      }
      if (generation.first_at === Number.POSITIVE_INFINITY) generation.first_at = this.now();
      this.generations.push(generation);
    }
    return kept.sort((a, b) => a.created_at - b.created_at);
  }

  /** Plans appending `records`; a generation older than half the retention starts the next, and expired ones go. */
  plan(records: readonly IdempotencyRecordType[], plan: BatchPlan): void {
    const now = this.now();
    for (const record of records) {
      let current = this.generations[this.generations.length - 1];
      if (!current || now - current.first_at >= this.retentionMs / 2) {
        const number = (current?.number ?? 0) + 1;
        current = { number, path: this.paths.idempotency(number), bytes: 0, first_at: record.created_at, last_at: record.created_at };
        this.generations.push(current);
      }
      plan.append(current.path, current.bytes, sealLine(JSON.stringify(record)));
      current.bytes = plan.endOf(current.path, current.bytes);
      current.last_at = Math.max(current.last_at, record.created_at);
    }
    while (this.generations.length > 1 && now - this.generations[0]!.last_at >= this.retentionMs) plan.remove(this.generations.shift()!.path);
  }
}
