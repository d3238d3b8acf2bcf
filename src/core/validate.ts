import type { Static, TSchema } from "@sinclair/typebox";
import { TypeCompiler, type TypeCheck } from "@sinclair/typebox/compiler";
import { ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { RuntimeError, type ErrorCode } from "./errors.ts";
import { explainError, problemText } from "./schema-problem.ts";

const compiled = new WeakMap<TSchema, TypeCheck<TSchema>>();

function checker<T extends TSchema>(schema: T): TypeCheck<T> {
  let check = compiled.get(schema);
  if (!check) {
    check = TypeCompiler.Compile(schema);
    compiled.set(schema, check);
  }
  return check as TypeCheck<T>;
}

/**
 * The first schema violation as `path: what is allowed`, e.g.
 * `status: must be one of idle, running, stopped, unavailable (got "bogus")`.
 */
export function firstError(schema: TSchema, value: unknown): string | null {
  const check = checker(schema);
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
  if (checker(schema).Check(value)) return value as Static<T>;
  throw new RuntimeError(code, `invalid ${what}: ${firstError(schema, value)}`);
}
