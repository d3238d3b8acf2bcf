import { defineCommand } from "citty";
import { unwrap, type Ack } from "../../client/index.ts";
import { painter } from "../style.ts";
import { clientFlags, clientFromArgs, workerArg, workerPositional } from "./connect.ts";
import { Conversation } from "./conversation.ts";
import { err, out, printJson, runOutcome } from "./format.ts";
import { inputSource, readInput } from "./input.ts";

export const sendCommand = defineCommand({
  meta: {
    name: "send",
    description:
      "Send input to a worker: TEXT, `-` (standard input) or --file. Prints the acknowledgement; with --wait the reply " +
      "streams to stdout, Ctrl-C cancels the run (twice: leave), and the exit status says how the run ended",
  },
  args: {
    ...workerPositional,
    text: {
      type: "positional",
      required: false,
      valueHint: "TEXT",
      description: "The input (further arguments are joined with spaces); `-` reads standard input to its end",
    },
    file: { type: "string", valueHint: "PATH", description: "Read the input from this file (UTF-8)" },
    wait: { type: "boolean", description: "Stream the reply (stdout) and wait for the run to end; its outcome goes to stderr" },
    system: { type: "boolean", description: "Send system input (context for later runs; starts no run)" },
    json: { type: "boolean", description: "Print JSON: the ack, or with --wait {ack, run, reply} once the run ended" },
    ...clientFlags,
  },
  run: async ({ args }) => {
    const worker = workerArg(args.worker);
    const source = inputSource(args._.slice(1), args.file);
    const client = clientFromArgs(args);
    const content = await readInput(source, client);
    const kind = args.system ? "system" : "user";
    if (!args.wait || kind === "system") {
      const { ack } = await unwrap(client.v1.workers({ worker_id: worker }).input.post({ kind, content }));
      if (args.json) await printJson(ack);
      else await out(`${ackLine(ack)}\n`);
      return;
    }
    const conversation = new Conversation(client, worker, { print: !args.json, cancelReason: "cancelled from send --wait (Ctrl-C)" });
    await conversation.open();
    let result;
    try {
      result = await conversation.send(kind, content);
    } finally {
      await conversation.close();
    }
    if ("refused" in result) throw result.refused;
    const { ack, run, reply } = result;
    if (run === null) {
      // The runtime started no run for this input: there is nothing to wait for.
      await (args.json ? printJson(ack) : out(`${ackLine(ack)}\n`));
      return;
    }
    if (args.json) await printJson({ ack, run, reply });
    else await err(`${painter("stderr")(run.status === "completed" ? "dim" : "red", `run ${run.run_id} ${runOutcome(run)}`)}\n`);
    // The outcome was printed; the exit status tells a script how the run ended.
    if (run.status !== "completed") process.exitCode = 1;
  },
});

function ackLine(ack: Ack): string {
  const where = ack.transcript_sequence === null ? "" : `, transcript #${ack.transcript_sequence}`;
  const event = ack.event_id === null ? "" : `, event #${ack.event_id}`;
  return ack.run_id === null
    ? `accepted by ${ack.worker_ref.worker_id} (no run${where}${event})`
    : `accepted by ${ack.worker_ref.worker_id}: run ${ack.run_id}${where}${event}`;
}
