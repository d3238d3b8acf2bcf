import { Type, type Static, type TObject } from "@sinclair/typebox";
import { ERROR_CODES, type ErrorCode, type RuntimeError } from "../core/errors.ts";
import { HTTP_STATUS } from "./error-status.ts";

const ErrorProperties = {
  error: Type.Object(
    {
      // `Unsafe` pins the static type: Elysia's type mapping reads a union built from an array as `never`.
      code: Type.Unsafe<ErrorCode>(Type.Union(ERROR_CODES.map((code) => Type.Literal(code)))),
      message: Type.String(),
      details: Type.Optional(Type.Record(Type.String(), Type.Unknown())),
    },
    { additionalProperties: false },
  ),
};

/** The one body of every failed request (SPEC §9). */
export const ErrorBody = Type.Object(ErrorProperties, { $id: "Error", additionalProperties: false });
export type ErrorBody = Static<typeof ErrorBody>;

type ErrorSchema = TObject<typeof ErrorProperties>;

/**
 * Response declarations for the error codes a route can fail with, grouped by HTTP status. Each
 * status names its codes in `description` (the OpenAPI document shows it); `noValidate` because
 * error bodies are built by the error handler, never by a route handler.
 */
export function errorResponses<const C extends readonly ErrorCode[]>(
  codes: C,
): { [S in (typeof HTTP_STATUS)[C[number]] as S]: ErrorSchema } {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = HTTP_STATUS[code];
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, ErrorSchema> = {};
  for (const [status, list] of byStatus) {
    responses[status] = Type.Object(ErrorProperties, {
      $id: "Error",
      additionalProperties: false,
      description: `Error: ${list.join(", ")}`,
      noValidate: true,
    });
  }
  return responses as never;
}

const JSON_HEADERS = { "content-type": "application/json" } as const;

export function errorBodyOf(error: RuntimeError): ErrorBody {
  return { error: error.toJSON() };
}

/** The HTTP response for a runtime error; `headers` adds e.g. `Allow` to a 405. */
export function errorResponse(error: RuntimeError, headers?: Record<string, string>): Response {
  return new Response(JSON.stringify(errorBodyOf(error)), {
    status: HTTP_STATUS[error.code],
    headers: headers ? { ...JSON_HEADERS, ...headers } : JSON_HEADERS,
  });
}
