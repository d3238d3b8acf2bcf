import { RuntimeError } from "./errors.ts";
import { isValidId } from "./ids.ts";
import { ReasonRequest } from "./schema/interaction.ts";
import { validate } from "./validate.ts";

/** Checks of arguments that may come from untyped callers (library users, the HTTP layer). */

/** Query and option arguments: anything but a plain object is refused. */
export function assertObject(value: unknown, what: string): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RuntimeError("invalid_request", `${what} must be an object`);
  }
}

/** A page cursor is an id handed out as `next_after`; anything else (an object without a prototype, a symbol) would not even compare. */
export function assertCursor(after: unknown): void {
  if (after !== undefined && !isValidId(after)) throw new RuntimeError("invalid_request", "after must be an id (a next_after cursor)");
}

export function pageLimit(limit: number | undefined, max: number, fallback: number): number {
  if (limit === undefined) return fallback;
  if (!Number.isSafeInteger(limit) || limit < 1) throw new RuntimeError("invalid_request", "limit must be a positive integer");
  if (limit > max) throw new RuntimeError("limit_too_large", `limit must be at most ${max}`, { max });
  return limit;
}

/** An event cursor: a non-negative integer event id. */
export function assertEventId(after: unknown): asserts after is number {
  if (!Number.isSafeInteger(after) || (after as number) < 0) {
    throw new RuntimeError("invalid_request", "after must be a non-negative integer event id");
  }
}

export function reasonOf(reason: unknown): string | undefined {
  return validate(ReasonRequest, { reason }, "reason").reason;
}

/** A copy of a validated request; a value that passes the schema but is no plain data (a Proxy) cannot be copied. */
export function plainCopy<T>(value: T, what: string): T {
  try {
    return structuredClone(value);
  } catch {
    throw new RuntimeError("invalid_request", `invalid ${what}: it must be plain data (objects, arrays, strings)`);
  }
}
