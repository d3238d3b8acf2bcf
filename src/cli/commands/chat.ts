import { defineCommand } from "citty";
import { assertWorkerId } from "../../core/ids.ts";
import { isRunEnded, unwrap, type PermissionRequest, type Run, type RuntimeClient, type RuntimeEvent } from "../../client/index.ts";
import { exit, isTerminal, onSignal, stdinLines } from "../../platform/index.ts";
import { clientFlags, clientFromArgs, describeFailure, reportingFailures } from "./connect.ts";
import { err, out } from "./format.ts";
import { replyOf } from "./send.ts";
import { expectPositionals } from "./workers.ts";

/** Exit status of a chat ended by a second Ctrl-C while a run was being cancelled (128 + SIGINT). */
const FORCED_EXIT = 130;

export const chatCommand = defineCommand({
  meta: {
    name: "chat",
    description:
      "Chat with a worker: each line of stdin is sent as user input and the reply streams back; " +
      "an agent's permission request is shown with numbered options and the next line answers it. " +
      "Ctrl-C cancels the active run (twice: quit); Ctrl-C while idle or end of input quits",
  },
  args: {
    worker: { type: "positional", required: true, valueHint: "WORKER", description: "Worker id" },
    ...clientFlags,
  },
  run: async ({ args }) => {
    expectPositionals(args, 1, "chat");
    const client = clientFromArgs(args);
    await reportingFailures(async () => {
      const worker = assertWorkerId(args.worker);
      await unwrap(client.v1.workers({ worker_id: worker }).get());
      const refused = await new ChatSession(client, worker).run();
      if (refused) process.exitCode = 1;
    });
  },
});

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One input and the run it started, as the chat follows it. */
interface Turn {
  /** Null until the input's acknowledgement named the run. */
  runId: string | null;
  /** Events of the worker that arrived before the acknowledgement (the run's first deltas may). */
  early: RuntimeEvent[];
  printed: string;
  /** The event stream reconnected during the turn: deltas may be missing from `printed`. */
  reconnected: boolean;
  cancelling: boolean;
  ended: ReturnType<typeof deferred<Run>>;
  /** Permission requests of the run (policy `ask`) not yet shown to the user. */
  asks: PermissionRequest[];
  asked: ReturnType<typeof deferred<void>>;
}

class ChatSession {
  private turn: Turn | null = null;
  /** Output is written in event order; each write waits for the one before. */
  private writing: Promise<void> = Promise.resolve();
  private readonly stop = new AbortController();
  private readonly quit = deferred<"quit">();
  private readonly failed = deferred<never>();
  private lines: AsyncGenerator<string, void, undefined> | null = null;

  constructor(
    private readonly client: RuntimeClient,
    private readonly worker: string,
  ) {
    // Nothing awaits it until a turn waits for its run; an unobserved failure must not crash.
    this.failed.promise.catch(() => {});
  }

  /** Runs until end of input or Ctrl-C while idle; resolves whether any input was refused. */
  async run(): Promise<boolean> {
    const removeHandler = onSignal("SIGINT", () => this.interrupt());
    const opened = deferred<void>();
    let connections = 0;
    const events = this.client.events({
      worker_id: this.worker,
      signal: this.stop.signal,
      onOpen: () => {
        if (++connections === 1) opened.resolve();
        else if (this.turn) this.turn.reconnected = true;
      },
    });
    const pump = (async () => {
      for await (const event of events) this.onEvent(event);
    })().then(
      () => this.failed.reject(new Error("the event stream ended")),
      (error: unknown) => this.failed.reject(error),
    );
    let refused = false;
    try {
      // Deltas are never replayed: the stream must be attached before the first input.
      await Promise.race([opened.promise, this.failed.promise]);
      const prompt = isTerminal("stdin") && isTerminal("stdout");
      const lines = (this.lines = stdinLines());
      for (;;) {
        if (prompt) await out("> ");
        const next = await Promise.race([lines.next(), this.quit.promise]);
        if (next === "quit" || next.done) break;
        if (next.value.trim() === "") continue;
        if (!(await this.send(next.value))) refused = true;
      }
    } finally {
      removeHandler();
      this.stop.abort();
      await pump;
    }
    return refused;
  }

  /** Sends one line and follows its run to the end; false when the runtime refused the input. */
  private async send(content: string): Promise<boolean> {
    const turn: Turn = {
      runId: null,
      early: [],
      printed: "",
      reconnected: false,
      cancelling: false,
      ended: deferred<Run>(),
      asks: [],
      asked: deferred<void>(),
    };
    this.turn = turn;
    try {
      let runId: string | null;
      try {
        ({ run_id: runId } = (await unwrap(this.client.v1.workers({ worker_id: this.worker }).input.post({ kind: "user", content }))).ack);
      } catch (error) {
        const line = describeFailure(error);
        if (line === null) throw error;
        await err(`yoi-runtime: ${line}\n`);
        return false;
      }
      if (runId === null) return true;
      turn.runId = runId;
      for (const event of turn.early.splice(0)) this.follow(turn, event);
      if (turn.cancelling) void this.cancel();
      let run: Run | null = null;
      while (run === null) {
        run = await Promise.race([turn.ended.promise, turn.asked.promise.then(() => null), this.failed.promise]);
        if (run === null) await this.answerPermissions(turn);
      }
      await this.writing;
      if (turn.reconnected) await this.printMissing(turn, run);
      if (turn.printed.length > 0 && !turn.printed.endsWith("\n")) await out("\n");
      if (run.status !== "completed") {
        const why = run.error ? `: ${run.error.message}` : "";
        await err(`[run ${run.status}${why}]\n`);
      }
      return true;
    } finally {
      this.turn = null;
    }
  }

  private onEvent(event: RuntimeEvent): void {
    const turn = this.turn;
    if (!turn || event.run_id === null) return;
    if (turn.runId === null) turn.early.push(event);
    else if (event.run_id === turn.runId) this.follow(turn, event);
  }

  private follow(turn: Turn, event: RuntimeEvent): void {
    if (event.run_id !== turn.runId) return;
    if (event.kind === "run_output_delta") {
      const delta = event.data.delta;
      turn.printed += delta;
      this.writing = this.writing.then(() => out(delta));
    } else if (event.kind === "run_permission_requested") {
      if (event.data.policy !== "ask") return;
      turn.asks.push(event.data.permission);
      turn.asked.resolve();
    } else if (isRunEnded(event)) {
      turn.ended.resolve(event.data.run);
    }
  }

  /** Shows each pending permission request with numbered options; the next line (a number or an option id) answers it. */
  private async answerPermissions(turn: Turn): Promise<void> {
    turn.asked = deferred<void>();
    await this.writing;
    for (let request = turn.asks.shift(); request; request = turn.asks.shift()) {
      if (turn.printed.length > 0 && !turn.printed.endsWith("\n")) await out("\n");
      const options = request.options.map((o, i) => `  ${i + 1}) ${o.name} [${o.option_id}, ${o.kind}]\n`).join("");
      await out(`[permission] the agent asks to ${request.tool_call.kind} ${JSON.stringify(request.tool_call.title)}\n${options}`);
      for (;;) {
        await out(`choose 1-${request.options.length}: `);
        const next = await Promise.race([this.lines!.next(), this.quit.promise, turn.ended.promise.then(() => "ended" as const)]);
        if (next === "quit" || next === "ended" || next.done) return;
        const choice = next.value.trim();
        const option = request.options[Number(choice) - 1] ?? request.options.find((o) => o.option_id === choice);
        if (!option) continue;
        try {
          await unwrap(
            this.client.v1.workers({ worker_id: this.worker }).runs({ run_id: turn.runId! }).permission.post({ option_id: option.option_id }),
          );
        } catch (error) {
          // Answered meanwhile (timeout, cancel, another client): the run goes on without this answer.
          await err(`yoi-runtime: ${describeFailure(error) ?? String(error)}\n`);
        }
        break;
      }
    }
  }

  /** After a reconnect some deltas may not have arrived: the rest of the reply comes from the transcript. */
  private async printMissing(turn: Turn, run: Run): Promise<void> {
    const reply = await replyOf(this.client, this.worker, run).catch(() => null);
    if (reply === null || !reply.startsWith(turn.printed) || reply.length === turn.printed.length) return;
    const rest = reply.slice(turn.printed.length);
    turn.printed = reply;
    await out(rest);
  }

  /** Ctrl-C: cancels the active run; a second one during the same run, or one while idle, quits. */
  private interrupt(): void {
    const turn = this.turn;
    if (!turn) {
      this.quit.resolve("quit");
      return;
    }
    if (turn.cancelling) {
      void err("\n").then(() => exit(FORCED_EXIT));
      return;
    }
    turn.cancelling = true;
    void err("\n[cancelling the run; Ctrl-C again to quit]\n");
    if (turn.runId !== null) void this.cancel();
  }

  private async cancel(): Promise<void> {
    try {
      await unwrap(this.client.v1.workers({ worker_id: this.worker }).cancel.post({ reason: "cancelled from chat (Ctrl-C)" }));
    } catch (error) {
      await err(`yoi-runtime: ${describeFailure(error) ?? String(error)}\n`);
    }
  }
}
