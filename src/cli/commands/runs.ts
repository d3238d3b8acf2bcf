import { defineCommand } from "citty";
import { unwrap, type Run } from "../../client/index.ts";
import { isValidId } from "../../core/ids.ts";
import { relativeTime } from "../relative-time.ts";
import { UsageError } from "../usage-error.ts";
import { choiceArg, clientFlags, clientFromArgs, countArg, expectPositionals, jsonFlag, workerArg, workerPositional } from "./connect.ts";
import { dash, err, keyValues, note, out, printJson, runDuration, status, table, when } from "./format.ts";

export const RUN_STATUSES = ["running", "completed", "failed", "cancelled", "timed_out", "interrupted"] as const;
const DEFAULT_RUNS = 20;
/** The longest `?wait=` the runtime accepts (seconds). */
const MAX_WAIT_SECONDS = 300;
const PAGE = 500;

export const runsCommand = defineCommand({
  meta: { name: "runs", description: `List a worker's runs, newest last (the last ${DEFAULT_RUNS} unless --limit)` },
  args: {
    ...workerPositional,
    limit: { type: "string", valueHint: "N", description: `Show the last N runs (default ${DEFAULT_RUNS})` },
    status: { type: "string", valueHint: RUN_STATUSES.join("|"), description: "Only runs that ended (or are) so" },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    expectPositionals(args, 1, "runs");
    const worker = workerArg(args.worker);
    const limit = countArg(args.limit, "--limit", 1) ?? DEFAULT_RUNS;
    const wanted = choiceArg(args.status, "--status", RUN_STATUSES);
    const client = clientFromArgs(args);
    const runs: Run[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await unwrap(client.v1.workers({ worker_id: worker }).runs.get({ query: { limit: PAGE, ...(after === undefined ? {} : { after }) } }));
      runs.push(...page.runs.filter((run) => wanted === undefined || run.status === wanted));
      if (page.next_after === null) break;
      after = page.next_after;
    }
    const shown = runs.slice(-limit);
    if (args.json) {
      await printJson(shown);
      return;
    }
    if (shown.length === 0) {
      await err(`${worker} has no runs${wanted === undefined ? "" : ` with status ${wanted}`}\n`);
      return;
    }
    if (runs.length > shown.length) await note(`(${runs.length - shown.length} earlier runs; --limit ${runs.length} shows all)`);
    await out(
      table(
        ["RUN", "STATUS", "STARTED", "TOOK", "OUTPUT", "ERROR"],
        shown.map((run) => [
          run.run_id,
          status(run.status),
          relativeTime(run.started_at),
          dash(runDuration(run)),
          run.output_sequence === null ? "-" : `#${run.output_sequence}${run.partial ? " (partial)" : ""}`,
          run.error ? `${run.error.code}: ${oneLine(run.error.message)}` : "-",
        ]),
      ),
    );
  },
});

export const runCommand = defineCommand({
  meta: { name: "run", description: "Show one run of a worker; --wait S waits up to S seconds for it to end" },
  args: {
    ...workerPositional,
    run: { type: "positional", required: true, valueHint: "RUN", description: "Run id (r-…)" },
    wait: { type: "string", valueHint: "S", description: `Wait up to S seconds (at most ${MAX_WAIT_SECONDS}) for an active run to end` },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    expectPositionals(args, 2, "run");
    const worker = workerArg(args.worker);
    if (!isValidId(args.run)) throw new UsageError(`RUN: not a run id: ${JSON.stringify(args.run)}`);
    const wait = countArg(args.wait, "--wait", 0, MAX_WAIT_SECONDS);
    const client = clientFromArgs(args);
    const { run } = await unwrap(
      client.v1.workers({ worker_id: worker }).runs({ run_id: args.run }).get({ query: wait === undefined ? {} : { wait } }),
    );
    if (args.json) await printJson(run);
    else await out(runDetail(run));
  },
});

function runDetail(run: Run): string {
  const usage = run.usage
    ? [run.usage.input_tokens === undefined ? null : `${run.usage.input_tokens} in`, run.usage.output_tokens === undefined ? null : `${run.usage.output_tokens} out`]
        .filter(Boolean)
        .join(", ") || null
    : null;
  return keyValues([
    ["run", run.run_id],
    ["worker", run.worker_ref.worker_id],
    ["status", status(run.status)],
    ["profile", run.profile],
    ["started", when(run.started_at)],
    ["finished", run.finished_at === null ? null : when(run.finished_at)],
    [run.finished_at === null ? "running_for" : "took", runDuration(run)],
    ["input", `transcript #${run.input_sequence}`],
    ["output", run.output_sequence === null ? "-" : `transcript #${run.output_sequence}${run.partial ? " (partial)" : ""}`],
    ["usage", usage === null ? null : `${usage} tokens`],
    ["error", run.error ? `${run.error.code}: ${run.error.message}` : null],
  ]);
}

const oneLine = (text: string): string => {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > 80 ? `${line.slice(0, 79)}…` : line;
};
