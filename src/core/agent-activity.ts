import { now } from "./clock.ts";
import { newDiagnostic, type RuntimeContext } from "./context.ts";
import { RuntimeError } from "./errors.ts";
import type { IdempotencyClaim } from "./idempotency.ts";
import type { WorkerAddress } from "./identity.ts";
import { getRun } from "./observation.ts";
import { optionFor, requestOf } from "./permission.ts";
import type { PermissionAsk, PermissionOutcome, RunOutput } from "./ports/backend.ts";
import type { StoreCommit } from "./ports/store.ts";
import { activeOf } from "./run-state.ts";
import { PermissionAnswerRequest } from "./schema/agent.ts";
import type { Run } from "./schema/run.ts";
import { validate } from "./validate.ts";
import { runInMemory, storedState, type ActiveRun, type LoadedWorker } from "./worker-entry.ts";

/**
 * What an agent backend (ACP) reports about a run besides its text — its session, tool calls,
 * plans, thoughts, diagnostics and permission requests — and the answers to those requests.
 */

/** An agent run's output other than text, usage and the stop reason. */
export type AgentOutput = Exclude<RunOutput, { type: "delta" | "usage" | "stop_reason" }>;

const MAX_TIMER_MS = 2 ** 31 - 1;

/** Records one output in order with the run's deltas: stored events, except thoughts (live only). */
export async function recordAgentOutput(ctx: RuntimeContext, entry: LoadedWorker, active: ActiveRun, item: AgentOutput): Promise<void> {
  const run = active.run;
  const commit: StoreCommit = {};
  switch (item.type) {
    case "thought":
      if (item.text.length > 0) ctx.publish(ctx.events.thoughtDelta(run.worker_ref, run.run_id, item.text));
      return;
    case "session":
      entry.counters = { ...entry.counters, session_id: item.session_id, updated_at: now() };
      commit.states = [storedState(entry)];
      break;
    case "tool_call": {
      const others = (run.tool_calls ?? []).filter((call) => call.tool_call_id !== item.tool_call.tool_call_id);
      active.run = { ...run, tool_calls: [...others, item.tool_call] };
      commit.runs = [active.run];
      commit.events = [ctx.events.toolCall(run, item.tool_call)];
      break;
    }
    case "plan":
      commit.events = [ctx.events.plan(run, item.entries)];
      break;
    case "diagnostic": {
      const fields = { level: "warning", code: item.code, message: item.message, worker_ref: run.worker_ref, run_id: run.run_id } as const;
      ctx.addDiagnostic(commit, newDiagnostic(item.details ? { ...fields, details: item.details } : fields));
      break;
    }
    case "permission":
      return askPermission(ctx, active, item);
  }
  await commitQuietly(ctx, commit, run.run_id);
}

/**
 * Records an agent's permission request. Policies `allow`/`reject` answer at once; `ask` leaves
 * it on the run until `answerPermission`, the timeout (first reject option) or the run's end.
 */
async function askPermission(ctx: RuntimeContext, active: ActiveRun, ask: PermissionAsk): Promise<void> {
  const request = requestOf(ask, new Date());
  const requested = ctx.events.permissionRequested(active.run, request, ask.policy);
  if (ask.policy !== "ask" || active.abort) {
    const outcome: PermissionOutcome = active.abort ? { outcome: "cancelled" } : optionFor(ask.options, ask.policy as "allow" | "reject");
    const answered = ctx.events.permissionAnswered(active.run, request.request_id, outcome, active.abort ? "cancel" : "policy");
    await commitQuietly(ctx, { events: [requested, answered] }, active.run.run_id);
    ask.answer(outcome);
    return;
  }
  const expire = () => void settleQuietly(ctx, active, optionFor(ask.options, "reject"), "timeout");
  const timer = setTimeout(expire, Math.min(ask.timeout_ms, MAX_TIMER_MS));
  active.permission = { request, ask, timer };
  active.run = { ...active.run, pending_permission: request };
  // A cancelled turn's pending request is answered `cancelled` at once (ACP).
  active.controller.signal.addEventListener("abort", () => void settleQuietly(ctx, active, { outcome: "cancelled" }, "cancel"), {
    once: true,
  });
  await commitQuietly(ctx, { runs: [active.run], events: [requested] }, active.run.run_id);
}

/**
 * Answers the permission request the run waits on with one of its offered options, and returns
 * the run as it is then. Fails `no_pending_permission` when the run waits on none.
 */
export async function answerPermission(
  ctx: RuntimeContext,
  address: WorkerAddress,
  run_id: string,
  answer: PermissionAnswerRequest,
  claim: IdempotencyClaim | null = null,
): Promise<Run> {
  ctx.assertOpen();
  const entry = ctx.loaded(address);
  const { option_id } = validate(PermissionAnswerRequest, answer, "permission answer");
  const run = await getRun(ctx, entry.id, run_id);
  const active = runInMemory(entry, run_id);
  const pending = active !== null && active === activeOf(entry.run) ? active.permission : null;
  if (!active || !pending) {
    throw new RuntimeError("no_pending_permission", `run ${run.run_id} is not waiting for a permission answer`, { run_id: run.run_id });
  }
  const offered = pending.request.options.map((option) => option.option_id);
  if (!offered.includes(option_id)) {
    throw new RuntimeError("invalid_request", `option_id must be one of the offered options: ${offered.join(", ")}`, {
      offered_option_ids: offered,
    });
  }
  return settlePermission(ctx, active, { outcome: "selected", option_id }, "user", claim);
}

/** Answers `cancelled` whatever the run still waits on; called once its backend stopped. */
export function endPermissions(ctx: RuntimeContext, active: ActiveRun): Promise<void> {
  return active.permission ? settleQuietly(ctx, active, { outcome: "cancelled" }, "cancel") : Promise.resolve();
}

/** Ends the run's pending permission request with `outcome`: recorded first, then handed to the agent. */
async function settlePermission(
  ctx: RuntimeContext,
  active: ActiveRun,
  outcome: PermissionOutcome,
  by: "user" | "timeout" | "cancel",
  claim: IdempotencyClaim | null = null,
): Promise<Run> {
  const pending = active.permission;
  if (!pending) return active.run;
  active.permission = null;
  clearTimeout(pending.timer);
  active.run = { ...active.run, pending_permission: null };
  const event = ctx.events.permissionAnswered(active.run, pending.request.request_id, outcome, by);
  const commit: StoreCommit = { runs: [active.run], events: [event] };
  const answered = claim?.attach(commit, active.run);
  try {
    await ctx.commit(commit);
  } finally {
    // The agent must not wait forever on a store failure.
    pending.ask.answer(outcome);
  }
  // With a key, the answer is the one kept with it (the run as this answer left it).
  return answered ?? active.run;
}

/** `settlePermission` where no caller waits for it: a store failure is logged (the agent is answered anyway). */
async function settleQuietly(ctx: RuntimeContext, active: ActiveRun, outcome: PermissionOutcome, by: "timeout" | "cancel"): Promise<void> {
  try {
    await settlePermission(ctx, active, outcome, by);
  } catch (failure) {
    ctx.log.error("could not record a permission answer", { run_id: active.run.run_id, error: String(failure) });
  }
}

/** A record made while the run goes on; a store failure is logged and the run continues. */
async function commitQuietly(ctx: RuntimeContext, commit: StoreCommit, run_id: string): Promise<void> {
  try {
    await ctx.commit(commit);
  } catch (failure) {
    ctx.log.error("could not record a run's progress", { run_id, error: String(failure) });
  }
}
