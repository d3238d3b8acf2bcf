/** Helpers for values caught in `catch`, which may be anything a library threw. */

/** The message of an Error, with its cause's message when that adds something (fetch hides the reason there). */
export function messageOf(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const cause = (error as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message && !error.message.includes(cause.message)
    ? `${error.message} (${cause.message})`
    : error.message;
}

/** The errno name of a system error (`ENOENT`, `ESRCH`…), or undefined when it carries none. */
export function errnoCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : undefined;
}
