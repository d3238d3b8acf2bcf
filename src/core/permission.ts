import type { PermissionAsk, PermissionOutcome } from "./ports/backend.ts";
import type { PermissionOption, PermissionRequest } from "./schema/agent.ts";

/** A permission request a run waits on (policy `ask`) until it is answered, times out or the run ends. */
export interface PendingPermission {
  request: PermissionRequest;
  ask: PermissionAsk;
  timer: ReturnType<typeof setTimeout>;
}

/**
 * The option a policy picks: `allow` the first allow option, `reject` the first reject option
 * (also what a timeout picks). An agent that offers none of that kind gets `cancelled`.
 */
export function optionFor(options: readonly PermissionOption[], policy: "allow" | "reject"): PermissionOutcome {
  const kinds = policy === "allow" ? ["allow_once", "allow_always"] : ["reject_once", "reject_always"];
  const option = options.find((o) => kinds.includes(o.kind));
  return option ? { outcome: "selected", option_id: option.option_id } : { outcome: "cancelled" };
}

/** The request as a run record shows it. */
export function requestOf(ask: PermissionAsk, requested_at: Date): PermissionRequest {
  return {
    request_id: ask.request_id,
    tool_call: ask.tool_call,
    options: ask.options,
    requested_at: requested_at.toISOString(),
    expires_at: ask.policy === "ask" ? new Date(requested_at.getTime() + ask.timeout_ms).toISOString() : null,
  };
}
