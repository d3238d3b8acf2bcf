import { defineCommand } from "citty";
import { unwrap } from "../../client/index.ts";
import { onShutdownSignal } from "../../platform/index.ts";
import { clientFlags, clientFromArgs, countArg, workerArg } from "./connect.ts";
import { err, eventLine, out } from "./format.ts";

export const tailCommand = defineCommand({
  meta: {
    name: "tail",
    description: "Follow the runtime's events live (one line each; JSON lines with --json) until Ctrl-C",
  },
  args: {
    worker: { type: "string", valueHint: "ID", description: "Only this worker's events (it must exist)" },
    after: { type: "string", valueHint: "N", description: "First replay the stored events after this id (0: all retained)" },
    json: { type: "boolean", description: "One JSON event per line" },
    ...clientFlags,
  },
  run: async ({ args }) => {
    const after = countArg(args.after, "--after");
    const worker_id = args.worker === undefined ? undefined : workerArg(args.worker, "--worker");
    const client = clientFromArgs(args);
    // Following a worker that does not exist would wait forever for events that never come.
    if (worker_id !== undefined) await unwrap(client.v1.workers({ worker_id }).get());
    const stop = new AbortController();
    const removeHandlers = onShutdownSignal(() => stop.abort());
    try {
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
    } finally {
      removeHandlers();
    }
  },
});
