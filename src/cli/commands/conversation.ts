import { isRunEnded, unwrap, type Ack, type PermissionRequest, type Run, type RuntimeClient, type RuntimeEvent } from "../../client/index.ts";
import { exit, onSignal } from "../../platform/index.ts";
import { failureOf } from "../report.ts";
import { painter } from "../style.ts";
import { err, note, out, permissionText } from "./format.ts";

/** Exit status when a second Ctrl-C leaves a run that is still being cancelled (128 + SIGINT). */
export const DETACHED_EXIT = 130;

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** One input and the run it started, as the conversation follows it. */
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
  /** Permission requests of the run (policy `ask`) not yet handled. */
  asks: PermissionRequest[];
  asked: ReturnType<typeof deferred<void>>;
}

export interface ConversationOptions {
  /** Print the reply on stdout as it streams (else only follow the run to its end). */
  print: boolean;
  /** Recorded as the cancel's reason when Ctrl-C cancels a run. */
  cancelReason: string;
  /**
   * Asks the user to answer an agent's permission request (policy `ask`): the chosen option id,
   * or null once `ended` settles or no answer comes. Without it the request is only shown.
   */
  choose?: (request: PermissionRequest, ended: Promise<unknown>) => Promise<string | null>;
}

/** What became of one input: refused by the runtime, or accepted (with the run it started, if any). */
export type TurnResult = { refused: unknown } | { ack: Ack; run: Run | null; reply: string };

/**
 * Sends input to one worker and streams each run's reply as it arrives, for `chat` and
 * `send --wait`. The event stream is attached before the first input (deltas are never replayed).
 * Ctrl-C during a run asks the runtime to cancel it; a second Ctrl-C during the same run leaves at
 * once (exit 130) while the runtime goes on cancelling; Ctrl-C while no run is active ends `idle`.
 */
export class Conversation {
  private turn: Turn | null = null;
  /** Output is written in event order; each write waits for the one before. */
  private writing: Promise<void> = Promise.resolve();
  private readonly stop = new AbortController();
  private readonly quit = deferred<"quit">();
  private readonly failed = deferred<never>();
  private pump: Promise<void> = Promise.resolve();
  private removeHandler: () => void = () => {};
  private readonly paintErr = painter("stderr");

  constructor(
    private readonly client: RuntimeClient,
    private readonly worker: string,
    private readonly options: ConversationOptions,
  ) {
    // Nothing awaits it until a turn waits for its run; an unobserved failure must not crash.
    this.failed.promise.catch(() => {});
  }

  /** Resolves when Ctrl-C was pressed while no run was active. */
  get idleInterrupt(): Promise<"quit"> {
    return this.quit.promise;
  }

  /** Attaches to the worker's events and installs the Ctrl-C handler. */
  async open(): Promise<void> {
    this.removeHandler = onSignal("SIGINT", () => this.interrupt());
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
    this.pump = (async () => {
      for await (const event of events) this.onEvent(event);
    })().then(
      () => this.failed.reject(new Error("the event stream ended")),
      (error: unknown) => this.failed.reject(error),
    );
    await Promise.race([opened.promise, this.failed.promise]);
  }

  async close(): Promise<void> {
    this.removeHandler();
    this.stop.abort();
    await this.pump;
  }

  /** Sends one input and follows the run it started to its end. */
  async send(kind: "user" | "system", content: string): Promise<TurnResult> {
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
      let ack: Ack;
      try {
        ({ ack } = await unwrap(this.client.v1.workers({ worker_id: this.worker }).input.post({ kind, content })));
      } catch (error) {
        return { refused: error };
      }
      if (ack.run_id === null) return { ack, run: null, reply: "" };
      turn.runId = ack.run_id;
      for (const event of turn.early.splice(0)) this.follow(turn, event);
      if (turn.cancelling) void this.cancel();
      let run: Run | null = null;
      while (run === null) {
        run = await Promise.race([turn.ended.promise, turn.asked.promise.then(() => null), this.failed.promise]);
        if (run === null) await this.answerPermissions(turn);
      }
      await this.writing;
      const reply = await this.complete(turn, run);
      if (this.options.print && turn.printed.length > 0 && !turn.printed.endsWith("\n")) await out("\n");
      return { ack, run, reply };
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
      if (this.options.print) this.writing = this.writing.then(() => out(delta));
    } else if (event.kind === "run_permission_requested") {
      if (event.data.policy !== "ask") return;
      turn.asks.push(event.data.permission);
      turn.asked.resolve();
    } else if (isRunEnded(event)) {
      turn.ended.resolve(event.data.run);
    }
  }

  /** Puts each pending permission request to the user (`choose`) and sends the answer; without `choose`, shows it. */
  private async answerPermissions(turn: Turn): Promise<void> {
    turn.asked = deferred<void>();
    await this.writing;
    for (let request = turn.asks.shift(); request; request = turn.asks.shift()) {
      if (this.options.print && turn.printed.length > 0 && !turn.printed.endsWith("\n")) await out("\n");
      if (!this.options.choose) {
        await note(`[permission] the agent ${permissionText(request)}; answer it with \`yoi-runtime chat\` or POST …/runs/${turn.runId}/permission`);
        continue;
      }
      const option_id = await this.options.choose(request, turn.ended.promise);
      if (option_id === null) return;
      try {
        await unwrap(this.client.v1.workers({ worker_id: this.worker }).runs({ run_id: turn.runId! }).permission.post({ option_id }));
      } catch (error) {
        // Answered meanwhile (timeout, cancel, another client): the run goes on without this answer.
        await err(`yoi-runtime: ${failureOf(error).line}\n`);
      }
    }
  }

  /**
   * The whole reply: what streamed, completed from the transcript when a reconnect may have lost
   * deltas (the rest is printed then).
   */
  private async complete(turn: Turn, run: Run): Promise<string> {
    if (!turn.reconnected) return turn.printed;
    const reply = await replyOf(this.client, this.worker, run).catch(() => null);
    if (reply === null || !reply.startsWith(turn.printed) || reply.length === turn.printed.length) return turn.printed;
    const rest = reply.slice(turn.printed.length);
    turn.printed = reply;
    if (this.options.print) await out(rest);
    return reply;
  }

  /** Ctrl-C: cancels the active run; a second one during the same run leaves; one while idle quits. */
  private interrupt(): void {
    const turn = this.turn;
    if (!turn) {
      this.quit.resolve("quit");
      return;
    }
    if (turn.cancelling) {
      void err(`\n${this.paintErr("yellow", "[left the run; the runtime goes on cancelling it]")}\n`).then(() => exit(DETACHED_EXIT));
      return;
    }
    turn.cancelling = true;
    void err(`\n${this.paintErr("yellow", "[cancelling the run; Ctrl-C again to leave without waiting]")}\n`);
    if (turn.runId !== null) void this.cancel();
  }

  private async cancel(): Promise<void> {
    try {
      await unwrap(this.client.v1.workers({ worker_id: this.worker }).cancel.post({ reason: this.options.cancelReason }));
    } catch (error) {
      await err(`yoi-runtime: ${failureOf(error).line}\n`);
    }
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
