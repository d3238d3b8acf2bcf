import type { RunContext } from "../core/ports/backend.ts";

/**
 * What a program run by a worker learns about its run (issue 11), shared by the backends that
 * start programs (`command`, `acp`): `YOI_*` environment variables, argv placeholders, and the
 * JSON document of `input = "json"`.
 */

export const INPUT_PLACEHOLDER = "{input}";
/** Every placeholder an argv element may hold; `{input}` only where the input goes in argv. */
export const PLACEHOLDERS = ["{input}", "{worker_id}", "{run_id}", "{run_number}", "{session_id}", "{workspace}"] as const;
export const DEFAULT_MAX_HISTORY_ITEMS = 50;

const PLACEHOLDER = /\{(input|worker_id|run_id|run_number|session_id|workspace)\}/g;

/** `YOI_*` variables for a run whose program works in `cwd`. */
export function runEnvironment(context: RunContext, cwd: string): Record<string, string> {
  return {
    YOI_RUNTIME_ID: context.worker_ref.runtime_id,
    YOI_WORKER_ID: context.worker_ref.worker_id,
    YOI_RUN_ID: context.run_id,
    YOI_RUN_NUMBER: String(context.run_number),
    YOI_SESSION_ID: context.worker_session_id,
    YOI_WORKSPACE: cwd,
  };
}

/**
 * Replaces the placeholders of one argv element in a single pass, so text that an input or id
 * brings in is never expanded again. `input` null leaves `{input}` as written.
 */
export function expandArgument(arg: string, context: RunContext, cwd: string, input: string | null): string {
  if (!arg.includes("{")) return arg;
  return arg.replace(PLACEHOLDER, (whole, name: string) => {
    switch (name) {
      case "input":
        return input ?? whole;
      case "worker_id":
        return context.worker_ref.worker_id;
      case "run_id":
        return context.run_id;
      case "run_number":
        return String(context.run_number);
      case "session_id":
        return context.worker_session_id;
      default:
        return cwd;
    }
  });
}

/**
 * The stdin of `input = "json"`: `{"input": …, "history": [{role, content}, …]}` with the last
 * `max_history_items` transcript entries before this input, so a stateless program can continue
 * a conversation.
 */
export async function jsonInput(context: RunContext, max_history_items: number): Promise<string> {
  const history = (await context.history(max_history_items)).map((entry) => ({ role: entry.role, content: entry.content }));
  return `${JSON.stringify({ input: context.input, history })}\n`;
}
