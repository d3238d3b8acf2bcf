import type { TSchema } from "@sinclair/typebox";
import { Errors, ValueErrorType, type ValueError } from "@sinclair/typebox/errors";
import { closest } from "../shared/suggest.ts";

/** One violation of a schema: where (property names from the root) and what is expected there. */
export interface SchemaProblem {
  path: string[];
  /** e.g. `must be one of idle, running, stopped, unavailable (got "bogus")`, `unknown key (did you mean "worker_id"?)`. */
  message: string;
}

/**
 * Words for TypeBox's first error that say what is allowed, not only what failed: an enum lists
 * its values, a union of shapes lists the shapes (or, when the value names one by `kind`, explains
 * what that shape misses), an unknown key suggests the close known one, bounds give the bound.
 */
export function explainError(error: ValueError): SchemaProblem {
  const path = error.path.split("/").slice(1).map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~"));
  const { schema, value } = error;
  if (error.type === ValueErrorType.ObjectAdditionalProperties || error.message === "Unexpected property") {
    const known = Object.keys((schema.properties as Record<string, TSchema> | undefined) ?? {});
    const guess = closest(path.at(-1) ?? "", known);
    const hint = guess !== null ? ` (did you mean "${guess}"?)` : known.length > 0 ? ` (known here: ${known.join(", ")})` : "";
    return { path, message: `unknown key${hint}` };
  }
  if (error.type === ValueErrorType.ObjectRequiredProperty) return { path, message: "is required" };
  if (Array.isArray(schema.anyOf)) {
    const chosen = chosenShape(schema.anyOf as TSchema[], value);
    if (chosen) return { path: [...path, ...chosen.path], message: chosen.message };
    return { path, message: unionMessage(schema.anyOf as TSchema[], value) ?? `${lowerFirst(error.message)} (got ${describe(value)})` };
  }
  return { path, message: valueMessage(schema, value) ?? `${lowerFirst(error.message)} (got ${describe(value)})` };
}

/** `path: message` with the path dotted (`intent.objective: is required`); the root alone is `value`. */
export function problemText(problem: SchemaProblem): string {
  return `${problem.path.length > 0 ? problem.path.join(".") : "value"}: ${problem.message}`;
}

function unionMessage(options: TSchema[], value: unknown): string | null {
  const literals = options.filter((option) => option.const !== undefined);
  if (literals.length === options.length) {
    return `must be one of ${literals.map((option) => String(option.const)).join(", ")} (got ${describe(value)})`;
  }
  const nonNull = options.filter((option) => option.type !== "null");
  if (nonNull.length === 1) {
    const inner = valueMessage(nonNull[0]!, value);
    return inner === null ? null : `${inner.replace(/ \(got .*\)$/, "")} or null (got ${describe(value)})`;
  }
  const objects = options.filter((option) => option.type === "object");
  if (objects.length !== options.length) return null;
  const kind = kindOf(value);
  return `must be one of ${objects.map(shapeOf).join(" | ")} (got ${kind === undefined ? describe(value) : `kind ${describe(kind)}`})`;
}

const kindOf = (value: unknown): unknown => (typeof value === "object" && value !== null ? (value as { kind?: unknown }).kind : undefined);

/**
 * A value that picks one shape of a union by its `kind` is told what that shape needs, relative
 * to the union's path (`objective: is required (for kind "task")`); null when it picks none.
 */
function chosenShape(options: TSchema[], value: unknown): SchemaProblem | null {
  const kind = kindOf(value);
  if (kind === undefined) return null;
  const chosen = options.find((option) => option.type === "object" && (option.properties as Record<string, TSchema> | undefined)?.kind?.const === kind);
  if (!chosen) return null;
  // Compiling here would cost every failing request a compile; `Errors` walks the value directly.
  const first = Errors(chosen, value).First();
  if (!first) return null;
  const inner = explainError(first);
  return { path: inner.path, message: `${inner.message} (for kind ${describe(kind)})` };
}

/** `{kind: "task", objective, purpose?}`: the keys of a shape, constants shown, optional ones marked. */
function shapeOf(schema: TSchema): string {
  const properties = (schema.properties as Record<string, TSchema> | undefined) ?? {};
  const required = new Set<string>((schema.required as string[] | undefined) ?? []);
  const keys = Object.entries(properties).map(([key, property]) =>
    property.const !== undefined ? `${key}: ${JSON.stringify(property.const)}` : `${key}${required.has(key) ? "" : "?"}`,
  );
  return `{${keys.join(", ")}}`;
}

/** What a scalar or table must be, or null when nothing more precise than TypeBox's words is known. */
function valueMessage(schema: TSchema, value: unknown): string | null {
  const got = describe(value);
  if (schema.const !== undefined) return `must be ${JSON.stringify(schema.const)} (got ${got})`;
  if (schema.type === "string") {
    if (typeof value !== "string") return `must be a string (got ${got})`;
    if (typeof schema.minLength === "number" && value.length < schema.minLength) {
      return schema.minLength === 1 ? "must not be empty" : `must be at least ${schema.minLength} characters`;
    }
    if (typeof schema.maxLength === "number" && value.length > schema.maxLength) return `must be at most ${schema.maxLength} characters`;
    if (typeof schema.pattern === "string") return `must match ${schema.pattern} (got ${got})`;
  }
  if (schema.type === "integer" || schema.type === "number") {
    const kind = schema.type === "integer" ? "an integer" : "a number";
    // A query parameter is a string until it is checked: `-1` is a number out of bounds, not "not a number".
    const number = typeof value === "string" && /^-?\d+(\.\d+)?$/.test(value) ? Number(value) : value;
    if (typeof number !== "number" || (schema.type === "integer" && !Number.isInteger(number))) return `must be ${kind} (got ${got})`;
    if (typeof schema.minimum === "number" && number < schema.minimum) return `must be ${kind} >= ${schema.minimum} (got ${number})`;
    if (typeof schema.exclusiveMinimum === "number" && number <= schema.exclusiveMinimum) return `must be ${kind} > ${schema.exclusiveMinimum} (got ${number})`;
    if (typeof schema.maximum === "number" && number > schema.maximum) return `must be ${kind} <= ${schema.maximum} (got ${number})`;
    if (typeof value === "string") return `must be ${kind} (got ${got})`;
  }
  if (schema.type === "boolean" && typeof value !== "boolean") return `must be true or false (got ${got})`;
  if (schema.type === "array") {
    if (!Array.isArray(value)) return `must be an array (got ${got})`;
    if (typeof schema.maxItems === "number" && value.length > schema.maxItems) return `must have at most ${schema.maxItems} items`;
    if (typeof schema.minItems === "number" && value.length < schema.minItems) return `must have at least ${schema.minItems} item${schema.minItems === 1 ? "" : "s"}`;
  }
  if (schema.type === "object" && (typeof value !== "object" || value === null || Array.isArray(value))) return `must be an object (got ${got})`;
  return null;
}

/** A value as it was written, for "got …" in messages. */
export function describe(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value.length > 60 ? `${value.slice(0, 57)}...` : value);
  if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") return String(value);
  if (value === null) return "null";
  if (value === undefined) return "nothing";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Date) return "a date";
  return "an object";
}

const lowerFirst = (text: string): string => text.charAt(0).toLowerCase() + text.slice(1);
