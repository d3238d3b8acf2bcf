import { Kind, type TObject, type TSchema } from "@sinclair/typebox";
import { RuntimeError } from "../core/errors.ts";

const INTEGER = /^(?:0|[1-9][0-9]{0,15})$/;

type Coerce = (raw: string) => unknown;

/**
 * A `transform` hook that replaces Elysia's query object by a strict reading of the URL, so the
 * route's plain TypeBox query schema (the one OpenAPI and Eden see) can validate it: integers
 * must be plain decimal digits (no `0x10`, `1e2`, `1.0` or spaces), and a parameter may appear
 * once. Values that do not convert stay strings and fail the schema with its message.
 */
export function strictQuery(schema: TObject): (context: { request: Request; query: unknown }) => void {
  const coercers = new Map<string, Coerce>();
  for (const [name, property] of Object.entries(schema.properties)) {
    const coerce = coercerOf(property);
    if (coerce) coercers.set(name, coerce);
  }
  return (context) => {
    const url = context.request.url;
    const mark = url.indexOf("?");
    const query: Record<string, unknown> = Object.create(null);
    if (mark >= 0) {
      for (const [name, raw] of queryPairs(url.slice(mark + 1))) {
        if (Object.hasOwn(query, name)) {
          throw new RuntimeError("invalid_request", `query parameter ${JSON.stringify(name)} is given more than once`);
        }
        const coerce = coercers.get(name);
        query[name] = coerce ? coerce(raw) : raw;
      }
    }
    context.query = query;
  };
}

/**
 * The name/value pairs of a query string as `URLSearchParams` reads them. Without `%` or `+`
 * nothing needs decoding, and splitting by hand spares every request with a query the cost of
 * building a `URLSearchParams` (a tenth of a transcript read's time).
 */
function queryPairs(search: string): Iterable<[string, string]> {
  if (search.includes("%") || search.includes("+")) return new URLSearchParams(search);
  const pairs: [string, string][] = [];
  for (const pair of search.split("&")) {
    if (pair === "") continue;
    const equals = pair.indexOf("=");
    pairs.push(equals < 0 ? [pair, ""] : [pair.slice(0, equals), pair.slice(equals + 1)]);
  }
  return pairs;
}

function coercerOf(schema: TSchema): Coerce | null {
  switch (schema[Kind]) {
    case "Integer":
      return (raw) => (INTEGER.test(raw) ? Number(raw) : raw);
    default:
      // Query `Number`s are not used: Elysia replaces them with its own lenient numeric type.
      return null;
  }
}
