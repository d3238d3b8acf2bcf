import { defineCommand, type ArgsDef } from "citty";
import { unwrap, type CreateWorkerRequest, type RuntimeClient, type WorkerSummary } from "../../client/index.ts";
import { UsageError } from "../usage-error.ts";
import { choiceArg, clientFlags, clientFromArgs, expectPositionals, jsonFlag, workerArg, workerPositional, type ClientArgs } from "./connect.ts";
import { out, printJson, err, workerDetail, workerTable } from "./format.ts";

/** The worker statuses `--status` accepts (SPEC §5, plus `unavailable` for a worker whose files are damaged). */
export const WORKER_STATUSES = ["idle", "running", "stopped", "unavailable"] as const;


/** A subcommand acting on one worker: `yoi-runtime workers <name> <worker> [flags]`. */
function workerAction<A extends ArgsDef>(
  name: string,
  description: string,
  extra: A,
  action: (client: RuntimeClient, worker: string, args: Record<string, unknown>) => Promise<void>,
) {
  return defineCommand({
    meta: { name, description },
    args: { ...workerPositional, ...extra, ...jsonFlag, ...clientFlags },
    run: async ({ args }) => {
      expectPositionals(args, 1, `workers ${name}`);
      const worker = workerArg(args.worker);
      await action(clientFromArgs(args as ClientArgs), worker, args);
    },
  });
}

const list = defineCommand({
  meta: { name: "list", description: "List the runtime's workers (every page), optionally by status" },
  args: {
    status: { type: "string", valueHint: WORKER_STATUSES.join("|"), description: "Only workers with this status" },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    const status = choiceArg(args.status, "--status", WORKER_STATUSES);
    const client = clientFromArgs(args);
    const workers: WorkerSummary[] = [];
    let after: string | undefined;
    for (;;) {
      const query = { limit: 500, ...(after === undefined ? {} : { after }), ...(status === undefined ? {} : { status }) };
      const page = await unwrap(client.v1.workers.get({ query }));
      workers.push(...page.workers);
      if (page.next_after === null) break;
      after = page.next_after;
    }
    if (args.json) await printJson(workers);
    else if (workers.length === 0) await err("no workers\n");
    else await out(workerTable(workers));
  },
});

const create = defineCommand({
  meta: { name: "create", description: "Create a worker (every field optional; see docs/api.md) and print its id" },
  args: {
    id: { type: "string", valueHint: "ID", description: "Worker id (default: generated)" },
    "display-name": { type: "string", valueHint: "NAME", description: "Display name for humans" },
    profile: {
      type: "string",
      valueHint: "NAME",
      description: "Profile: `echo` (builtin), a name from the runtime's config (default: the runtime's default profile)",
    },
    task: { type: "string", valueHint: "OBJECTIVE", description: "A task worker with this objective (default: an assistant)" },
    role: { type: "string", valueHint: "ROLE", description: "A role worker with this role" },
    purpose: { type: "string", valueHint: "TEXT", description: "Purpose of an assistant or role worker" },
    workspace: {
      type: "string",
      valueHint: "NAME[:REF]",
      description: "A git worktree of the configured workspace NAME at REF (default: its base); repeat for several",
    },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    const request = createRequest(args);
    const client = clientFromArgs(args);
    const { worker } = await unwrap(client.v1.workers.post(request));
    if (args.json) await printJson(worker);
    else await out(`${worker.worker_ref.worker_id}\n`);
  },
});

/** The create request the flags describe; contradictory flags are a command-line error. */
export function createRequest(args: {
  id?: string;
  "display-name"?: string;
  profile?: string;
  task?: string;
  role?: string;
  purpose?: string;
  workspace?: string | string[];
}): CreateWorkerRequest {
  const request: CreateWorkerRequest = {};
  if (args.id !== undefined) request.worker_id = workerArg(args.id, "--id");
  if (args["display-name"] !== undefined) request.display_name = args["display-name"];
  if (args.profile !== undefined) {
    request.profile = args.profile === "echo" ? { kind: "builtin", value: "echo" } : { kind: "named", value: args.profile };
  }
  if (args.task !== undefined && args.role !== undefined) throw new UsageError("--task and --role exclude each other");
  if (args.task !== undefined) {
    if (args.purpose !== undefined) throw new UsageError("--purpose is for assistant and role workers, not with --task");
    request.intent = { kind: "task", objective: args.task };
  } else if (args.role !== undefined) {
    request.intent = { kind: "role", role: args.role, ...(args.purpose === undefined ? {} : { purpose: args.purpose }) };
  } else if (args.purpose !== undefined) {
    request.intent = { kind: "assistant", purpose: args.purpose };
  }
  if (args.workspace !== undefined) {
    const values = Array.isArray(args.workspace) ? args.workspace : [args.workspace];
    request.workspace_refs = values.map((value) => {
      const colon = value.indexOf(":");
      const name = colon < 0 ? value : value.slice(0, colon);
      if (name === "") throw new UsageError(`--workspace ${JSON.stringify(value)}: expected NAME or NAME:REF`);
      return { name, reference: colon < 0 ? "" : value.slice(colon + 1) };
    });
  }
  return request;
}

const reasonFlag = { reason: { type: "string", valueHint: "TEXT", description: "Why (recorded in the event)" } } as const satisfies ArgsDef;
const reasonBody = (args: Record<string, unknown>) => (typeof args.reason === "string" ? { reason: args.reason } : undefined);

const show = workerAction("show", "Show a worker's detail", {}, async (client, worker, args) => {
  const detail = await unwrap(client.v1.workers({ worker_id: worker }).get());
  if (args.json) await printJson(detail.worker);
  else await out(workerDetail(detail.worker));
});

const stop = workerAction("stop", "Stop a worker (cancels its active run); a stopped worker takes no input until restored", reasonFlag, async (client, worker, args) => {
  const { ack } = await unwrap(client.v1.workers({ worker_id: worker }).stop.post(reasonBody(args)));
  if (args.json) await printJson(ack);
  else await out(`${worker} stopped${ack.cancelled_run_id ? ` (cancelled run ${ack.cancelled_run_id})` : ""}\n`);
});

const cancel = workerAction("cancel", "Cancel the worker's active run, if it has one", reasonFlag, async (client, worker, args) => {
  const { ack } = await unwrap(client.v1.workers({ worker_id: worker }).cancel.post(reasonBody(args)));
  if (args.json) await printJson(ack);
  else await out(ack.cancelled_run_id ? `cancelled run ${ack.cancelled_run_id} of ${worker}\n` : `${worker} had no active run\n`);
});

const restore = workerAction("restore", "Move a stopped worker back to idle", {}, async (client, worker, args) => {
  const { ack } = await unwrap(client.v1.workers({ worker_id: worker }).restore.post());
  if (args.json) await printJson(ack);
  else await out(`${worker} restored (${ack.status})\n`);
});

const forceFlag = {
  force: { type: "boolean", description: "Delete even when a worktree has uncommitted changes (they are discarded)" },
} as const satisfies ArgsDef;

const remove = workerAction("delete", "Delete a worker without an active run, with its data and worktrees", forceFlag, async (client, worker, args) => {
  const query = args.force === true ? { force: "true" as const } : {};
  const answer = await unwrap(client.v1.workers({ worker_id: worker }).delete(undefined, { query }));
  if (args.json) await printJson(answer);
  else {
    const kept = (answer.workspaces ?? []).filter((ws) => ws.branch_kept).map((ws) => ws.branch);
    await out(`${worker} deleted${kept.length > 0 ? ` (branches kept: ${kept.join(", ")})` : ""}\n`);
  }
});

export const workersCommand = defineCommand({
  meta: { name: "workers", description: "List, create, show, stop, cancel, restore or delete workers of a running runtime" },
  subCommands: { list, create, show, stop, cancel, restore, delete: remove },
});
