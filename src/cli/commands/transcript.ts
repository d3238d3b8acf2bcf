import { defineCommand } from "citty";
import { unwrap, type RuntimeClient, type TranscriptEntry } from "../../client/index.ts";
import { onShutdownSignal } from "../../platform/index.ts";
import { relativeTime } from "../relative-time.ts";
import { UsageError } from "../usage-error.ts";
import { clientFlags, clientFromArgs, countArg, expectPositionals, jsonFlag, workerArg, workerPositional } from "./connect.ts";
import { err, note, out, paint, printJson } from "./format.ts";

/** Entries shown without `--tail`, `--start` or `--limit`: the end of the conversation. */
const DEFAULT_TAIL = 20;

export const transcriptCommand = defineCommand({
  meta: {
    name: "transcript",
    description: `Read a worker's transcript: the last ${DEFAULT_TAIL} entries, --tail N, or a page (--start S --limit L); --follow prints new entries as they are written`,
  },
  args: {
    ...workerPositional,
    tail: { type: "string", valueHint: "N", description: `The last N entries (default ${DEFAULT_TAIL})` },
    start: { type: "string", valueHint: "S", description: "First sequence of a page (default 0 with --limit)" },
    limit: { type: "string", valueHint: "L", description: "Entries in the page (default 100, at most the runtime's limit)" },
    follow: { type: "boolean", description: "Then print entries as they are written, until Ctrl-C (with --json: one entry per line)" },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    expectPositionals(args, 1, "transcript");
    const worker = workerArg(args.worker);
    const tail = countArg(args.tail, "--tail");
    const start = countArg(args.start, "--start");
    const limit = countArg(args.limit, "--limit", 1);
    if (tail !== undefined && (start !== undefined || limit !== undefined)) throw new UsageError("--tail excludes --start and --limit");
    const client = clientFromArgs(args);
    const query = start !== undefined || limit !== undefined ? { start: start ?? 0, ...(limit === undefined ? {} : { limit }) } : { tail: tail ?? DEFAULT_TAIL };
    const { transcript } = await unwrap(client.v1.workers({ worker_id: worker }).transcript.get({ query }));
    const print = (entry: TranscriptEntry) => (args.json ? out(`${JSON.stringify(entry)}\n`) : out(entryText(entry)));
    if (args.json && !args.follow) {
      await printJson(transcript);
      return;
    }
    if (!args.json && transcript.items.length === 0) await err(`${worker} has no transcript entries${transcript.total_items > 0 ? " in this range" : ""}\n`);
    const first = transcript.items[0]?.sequence ?? transcript.start;
    if (!args.json && first > 0 && "tail" in query) await note(`(${first} earlier entries; --start 0 to read from the beginning)`);
    for (const entry of transcript.items) await print(entry);
    if (!args.follow) {
      if (!args.json && transcript.next_start !== null) await note(`(more from --start ${transcript.next_start})`);
      return;
    }
    await follow(client, worker, transcript.total_items, print);
  },
});

/** `#3 assistant r-… 2m ago` then the content, indented: one block per entry. */
function entryText(entry: TranscriptEntry): string {
  const head = [`#${entry.sequence}`, entry.role, entry.run_id, entry.partial ? "(partial)" : null, relativeTime(entry.created_at)]
    .filter((part): part is string => part !== null)
    .join(" ");
  const body = entry.content.replace(/\n*$/, "").split("\n").map((line) => `  ${line}`).join("\n");
  return `${paint(entry.role === "user" ? "cyan" : entry.role === "assistant" ? "green" : "yellow", head)}\n${body}\n`;
}

/**
 * Prints entries from sequence `next` on as they are written: every stored event of the worker
 * may have added some, so each one triggers a read from the last printed sequence (reads run one
 * at a time, in order). The first read happens once the stream is attached, so an entry written
 * between the page and the stream is not missed. Ends on Ctrl-C.
 */
async function follow(client: RuntimeClient, worker: string, next: number, print: (entry: TranscriptEntry) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const removeHandlers = onShutdownSignal(() => stop.abort());
  let reading = Promise.resolve();
  const catchUp = () => {
    reading = reading.then(async () => {
      for (;;) {
        const { transcript } = await unwrap(client.v1.workers({ worker_id: worker }).transcript.get({ query: { start: next } }));
        for (const entry of transcript.items) await print(entry);
        next += transcript.items.length;
        if (transcript.next_start === null) return;
      }
    });
    return reading;
  };
  try {
    const events = client.events({ worker_id: worker, signal: stop.signal, onOpen: () => void catchUp().catch(() => {}) });
    for await (const event of events) {
      if (event.id !== null) await catchUp();
    }
    await reading;
  } finally {
    removeHandlers();
  }
}
