import { defineCommand } from "citty";
import { unwrap } from "../../client/index.ts";
import { clientFlags, clientFromArgs, countArg, jsonFlag, workerArg } from "./connect.ts";
import { err, eventLine, note, out, printJson } from "./format.ts";

export const eventsCommand = defineCommand({
  meta: { name: "events", description: "Read one batch of stored events (use `tail` to follow them live)" },
  args: {
    after: { type: "string", valueHint: "N", description: "Events with an id above N (default 0: the oldest retained)" },
    limit: { type: "string", valueHint: "N", description: "At most N events (default 100, at most the runtime's limit)" },
    worker: { type: "string", valueHint: "ID", description: "Only this worker's events" },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    const after = countArg(args.after, "--after");
    const limit = countArg(args.limit, "--limit", 1);
    const worker_id = args.worker === undefined ? undefined : workerArg(args.worker, "--worker");
    const client = clientFromArgs(args);
    const query = { ...(after === undefined ? {} : { after }), ...(limit === undefined ? {} : { limit }), ...(worker_id === undefined ? {} : { worker_id }) };
    const { events } = await unwrap(client.v1.events.get({ query }));
    if (args.json) {
      await printJson(events);
      return;
    }
    if (events.events.length === 0) await err("no events\n");
    for (const event of events.events) await out(`${eventLine(event)}\n`);
    if (events.has_more) await note(`(more: --after ${events.next_after})`);
  },
});
