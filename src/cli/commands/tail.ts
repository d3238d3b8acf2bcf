import { defineCommand } from "citty";
import { assertWorkerId } from "../../core/ids.ts";
import { ConfigError } from "../../config/errors.ts";
import { onShutdownSignal } from "../../platform/index.ts";
import { clientFlags, clientFromArgs, reportingFailures } from "./connect.ts";
import { err, eventLine, out } from "./format.ts";

export const tailCommand = defineCommand({
  meta: {
    name: "tail",
    description: "Follow the runtime's events live (one line each; JSON lines with --json) until Ctrl-C",
  },
  args: {
    worker: { type: "string", valueHint: "ID", description: "Only this worker's events" },
    after: { type: "string", valueHint: "N", description: "First replay the stored events after this id (0: all retained)" },
    json: { type: "boolean", description: "One JSON event per line" },
    ...clientFlags,
  },
  run: async ({ args }) => {
    const after = args.after === undefined ? undefined : eventIdArg(args.after);
    const client = clientFromArgs(args);
    const stop = new AbortController();
    const removeHandlers = onShutdownSignal(() => stop.abort());
    try {
      await reportingFailures(async () => {
        const worker_id = args.worker === undefined ? undefined : assertWorkerId(args.worker);
        let opened = false;
        const events = client.events({
          after,
          worker_id,
          signal: stop.signal,
          onOpen: ({ after: cursor }) => {
            const what = `events of ${client.url}${worker_id === undefined ? "" : ` for ${worker_id}`} after #${cursor}`;
            void err(`${opened ? "reconnected: " : "following "}${what}\n`);
            opened = true;
          },
        });
        for await (const event of events) await out(`${args.json ? JSON.stringify(event) : eventLine(event)}\n`);
      });
    } finally {
      removeHandlers();
    }
  },
});

function eventIdArg(value: string): number {
  if (!/^(0|[1-9][0-9]{0,15})$/.test(value)) throw new ConfigError(`--after: expected an event id (a whole number >= 0), got ${JSON.stringify(value)}`);
  return Number(value);
}
