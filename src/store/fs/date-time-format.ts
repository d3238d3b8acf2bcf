import { FormatRegistry } from "@sinclair/typebox";

const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/**
 * The schemas mark timestamps `format: "date-time"`, which TypeBox checks only once a checker is
 * registered; the store checks what it reads back from disk against those schemas, so it makes
 * sure one is (leaving one registered by someone else, e.g. Elysia, in place).
 */
export function ensureDateTimeFormat(): void {
  if (!FormatRegistry.Has("date-time")) {
    FormatRegistry.Set("date-time", (value) => RFC3339.test(value) && !Number.isNaN(Date.parse(value)));
  }
}
