import { RuntimeError } from "../../core/errors.ts";
import { errnoCode, messageOf } from "../../shared/errors.ts";

/** Why the store cannot write (`details.cause`, `/readyz`): the disk (or quota) is full, or anything else. */
export type FailureCause = "disk_full" | "io_error";

export function causeOf(error: unknown): FailureCause {
  const code = errnoCode(error);
  return code === "ENOSPC" || code === "EDQUOT" ? "disk_full" : "io_error";
}

/**
 * The answer to a commit while the store cannot write: 503 `runtime_unavailable` with the cause.
 * `applied`: the commit was in a batch whose bytes may have reached the journal before the failure,
 * so a crash before in-process recovery may or may not keep it — `outcome: "unknown"`. Otherwise
 * nothing of it was applied.
 */
export function unavailable(cause: FailureCause, applied: boolean, error: unknown): RuntimeError {
  const what = cause === "disk_full" ? "the disk is full" : "the disk failed a write";
  const message = applied
    ? `the store could not make this write durable (${what}: ${messageOf(error)}); it was not applied, but a crash before the store recovers may still keep it`
    : `the store cannot write right now (${what}); nothing was applied — retry later`;
  return new RuntimeError("runtime_unavailable", message, applied ? { cause, outcome: "unknown" } : { cause });
}
