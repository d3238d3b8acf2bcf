import { defineCommand } from "citty";
import { assertWorkerId } from "../../core/ids.ts";
import { unwrap, type Ack, type Run, type RuntimeClient } from "../../client/index.ts";
import { ConfigError } from "../../config/errors.ts";
import { clientFlags, clientFromArgs, CommandFailure, reportingFailures } from "./connect.ts";
import { err, out, printJson, runOutcome } from "./format.ts";

/** The longest wait one request may ask for (the server refuses longer ones); longer runs are waited for again. */
const WAIT_SECONDS = 300;

export const sendCommand = defineCommand({
  meta: {
    name: "send",
    description: "Send input to a worker. Prints the acknowledgement, or with --wait the reply (stdout) once the run ended",
  },
  args: {
    worker: { type: "positional", required: true, valueHint: "WORKER", description: "Worker id" },
    text: { type: "positional", required: true, valueHint: "TEXT", description: "The input (further arguments are joined with spaces)" },
    wait: { type: "boolean", description: "Wait for the run to end; print its reply on stdout and its outcome on stderr" },
    system: { type: "boolean", description: "Send system input (context for later runs; starts no run)" },
    json: { type: "boolean", description: "Print JSON: the ack, or with --wait {ack, run, reply}" },
    ...clientFlags,
  },
  run: async ({ args }) => {
    const content = args._.slice(1).join(" ");
    if (content.length === 0) throw new ConfigError("the input TEXT is empty");
    const client = clientFromArgs(args);
    await reportingFailures(async () => {
      const worker = assertWorkerId(args.worker);
      const kind = args.system ? "system" : "user";
      const endpoint = client.v1.workers({ worker_id: worker }).input;
      if (!args.wait || kind === "system") {
        const { ack } = await unwrap(endpoint.post({ kind, content }));
        if (args.json) await printJson(ack);
        else await out(`${ackLine(ack)}\n`);
        return;
      }
      const answer = await unwrap(endpoint.post({ kind, content }, { query: { wait: WAIT_SECONDS } }));
      const ack = answer.ack;
      const run = "run" in answer && answer.run ? answer.run : await waitRun(client, worker, ack.run_id!);
      const reply = await replyOf(client, worker, run);
      if (args.json) {
        await printJson({ ack, run, reply });
      } else {
        if (reply !== null) await out(reply.endsWith("\n") ? reply : `${reply}\n`);
        await err(`run ${run.run_id} ${runOutcome(run)}\n`);
      }
      if (run.status !== "completed") throw new CommandFailure(`run ${run.run_id} ${runOutcome(run)}`);
    });
  },
});

function ackLine(ack: Ack): string {
  const where = ack.transcript_sequence === null ? "" : `, transcript #${ack.transcript_sequence}`;
  const event = ack.event_id === null ? "" : `, event #${ack.event_id}`;
  return ack.run_id === null
    ? `accepted by ${ack.worker_ref.worker_id} (no run${where}${event})`
    : `accepted by ${ack.worker_ref.worker_id}: run ${ack.run_id}${where}${event}`;
}

/** The run once it ended, waiting as many times as it takes. */
export async function waitRun(client: RuntimeClient, worker: string, runId: string): Promise<Run> {
  for (;;) {
    const { run } = await unwrap(client.v1.workers({ worker_id: worker }).runs({ run_id: runId }).get({ query: { wait: WAIT_SECONDS } }));
    if (run.status !== "running") return run;
  }
}

/** The assistant entry a run wrote (partial for a run that did not complete), or null. */
export async function replyOf(client: RuntimeClient, worker: string, run: Run): Promise<string | null> {
  if (run.output_sequence === null) return null;
  const { transcript } = await unwrap(
    client.v1.workers({ worker_id: worker }).transcript.get({ query: { start: run.output_sequence, limit: 1 } }),
  );
  return transcript.items[0]?.content ?? null;
}
