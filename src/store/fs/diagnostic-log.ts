import { Diagnostic } from "../../core/schema/diagnostic.ts";
import type { Diagnostic as DiagnosticType } from "../../core/schema/diagnostic.ts";
import type { BatchPlan } from "./batch-plan.ts";
import type { StorePaths } from "./paths.ts";
import type { Repairs } from "./repairs.ts";
import { readSealedGenerations } from "./sealed-generations.ts";
import { sealLine } from "./sealed-line.ts";

/** Diagnostics kept, as the memory store keeps them. */
export const MAX_DIAGNOSTICS = 1000;

interface Generation {
  number: number;
  path: string;
  bytes: number;
  count: number;
}

/**
 * Diagnostics, bounded: diagnostics/<generation>.jsonl files of up to MAX_DIAGNOSTICS lines; a new
 * generation starts when the current one is full and only the newest two are kept, so the last
 * MAX_DIAGNOSTICS are always on disk. The list itself is kept in memory.
 */
export class DiagnosticLog {
  private generations: Generation[] = [];
  private recent: DiagnosticType[] = [];

  constructor(private readonly paths: StorePaths) {}

  load(repairs: Repairs): void {
    // An unreadable line in the middle is skipped: it is still on disk for whoever looks.
    const read = readSealedGenerations<DiagnosticType>(this.paths, "diagnostics", (n) => this.paths.diagnostics(n), Diagnostic, repairs);
    this.generations = read.map(({ number, path, bytes, records }) => ({ number, path, bytes, count: records.length }));
    this.recent = read.flatMap((generation) => generation.records).slice(-MAX_DIAGNOSTICS);
  }

  /** Plans appending `diagnostics`; a full generation starts the next, and only the newest two stay. */
  plan(diagnostics: readonly DiagnosticType[], plan: BatchPlan): void {
    for (const diagnostic of diagnostics) {
      let current = this.generations[this.generations.length - 1];
      if (!current || current.count >= MAX_DIAGNOSTICS) {
        const number = (current?.number ?? 0) + 1;
        current = { number, path: this.paths.diagnostics(number), bytes: 0, count: 0 };
        this.generations.push(current);
      }
      plan.append(current.path, current.bytes, sealLine(JSON.stringify(diagnostic)));
      current.bytes = plan.endOf(current.path, current.bytes);
      current.count++;
      plan.diagnostics.push(diagnostic);
    }
    while (this.generations.length > 2) plan.remove(this.generations.shift()!.path);
  }

  published(diagnostics: readonly DiagnosticType[]): void {
    if (diagnostics.length === 0) return;
    this.recent.push(...diagnostics);
    if (this.recent.length > 2 * MAX_DIAGNOSTICS) this.recent = this.recent.slice(-MAX_DIAGNOSTICS);
  }

  list(): DiagnosticType[] {
    return this.recent.slice(-MAX_DIAGNOSTICS);
  }
}
