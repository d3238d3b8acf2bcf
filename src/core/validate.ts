import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { Errors, ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { RuntimeError, type ErrorCode } from "./errors.ts";
import { explainError, problemText } from "./schema-problem.ts";

/** What `validate` needs of a schema's checker: the compiled `TypeCheck` has both. */
interface Checker {
  Check(value: unknown): boolean;
  Errors(value: unknown): Iterable<ValueError>;
}

/**
 * Uses of a schema checked by walking it before it is compiled. Compiling costs milliseconds per
 * schema (several at every start, for values checked once: the limits, the display name); a
 * schema used again, as a request schema is, is compiled on that use.
 */
const INTERPRETED_USES = 1;
const checkers = new WeakMap<TSchema, Checker>();
const uses = new WeakMap<TSchema, number>();

function checker(schema: TSchema): Checker {
  const known = checkers.get(schema);
  if (known) return known;
  const used = (uses.get(schema) ?? 0) + 1;
  if (used <= INTERPRETED_USES) {
    uses.set(schema, used);
    // The same walk as the compiled check's Errors(): no error is a match.
    return { Check: (value) => Errors(schema, value).First() === undefined, Errors: (value) => Errors(schema, value) };
  }
  const compiled = TypeCompiler.Compile(schema);
  checkers.set(schema, compiled);
  uses.delete(schema);
  return compiled;
}

/**
 * The first schema violation as `path: what is allowed`, e.g.
 * `status: must be one of idle, running, stopped, unavailable (got "bogus")`.
 */
export function firstError(schema: TSchema, value: unknown): string | null {
  return problemOf(checker(schema), value);
}

function problemOf(check: Checker, value: unknown): string | null {
  // Errors() walks the value without the compiled code: only a value that failed pays for it.
  if (check.Check(value)) return null;
  const error = mostTelling(check.Errors(value));
  return error ? problemText(explainError(error)) : "value: does not match the schema";
}

/** How many errors are looked at for a more telling one than the first. */
const ERRORS_LOOKED_AT = 32;

/**
 * The first error, unless an unknown key comes later: a typo (`contnet`) explains the missing key
 * it was meant to be (`content is required`), so it is the one worth reporting.
 */
function mostTelling(errors: Iterable<ValueError>): ValueError | undefined {
  let first: ValueError | undefined;
  let seen = 0;
  for (const error of errors) {
    first ??= error;
    if (error.type === ValueErrorType.ObjectAdditionalProperties) return error;
    if (++seen >= ERRORS_LOOKED_AT) break;
  }
  return first;
}

/** Returns `value` typed when it matches `schema`, else throws `RuntimeError(code)` naming the first violation. */
export function validate<T extends TSchema>(
  schema: T,
  value: unknown,
  what: string,
  code: ErrorCode = "invalid_request",
): Static<T> {
  const check = checker(schema);
  if (check.Check(value)) return value as Static<T>;
  throw new RuntimeError(code, `invalid ${what}: ${problemOf(check, value)}`);
}
