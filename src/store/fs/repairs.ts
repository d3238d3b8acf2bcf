import type { Diagnostic, DiagnosticLevel } from "../../core/schema/diagnostic.ts";

/** Diagnostics gathered while opening: repairs made and problems isolated, for the runtime to record. */
export class Repairs {
  readonly diagnostics: Diagnostic[] = [];

  constructor(private readonly runtime_id: string) {}

  add(level: DiagnosticLevel, code: string, message: string, worker_id: string | null, details: Record<string, unknown>): void {
    this.diagnostics.push({
      level,
      code,
      message,
      worker_ref: worker_id === null ? null : { runtime_id: this.runtime_id, worker_id },
      run_id: null,
      created_at: new Date().toISOString(),
      details,
    });
  }

  /** A file was changed to make it consistent again (a torn last line cut, a lost write redone). */
  repaired(file: string, message: string, worker_id: string | null = null, details: Record<string, unknown> = {}): void {
    this.add("warning", "store_repaired", `${file}: ${message}`, worker_id, { file, ...details });
  }
}
