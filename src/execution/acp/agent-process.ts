import { Readable, Writable } from "node:stream";
import { ByteTail } from "../byte-tail.ts";
import { ProcessGroup, type ExitStatus } from "../process-group.ts";

/** How much of the end of an agent's stderr is kept for error reports. */
const STDERR_TAIL_BYTES = 4_096;

/**
 * A running ACP agent: the leader of its own process group (noted in the orphan ledger like a
 * `command` run), its stdio as byte streams for the protocol, and the tail of its stderr. The
 * leader's exit ends the whole group, so helpers it started do not outlive it.
 */
export class AgentProcess {
  /** Bytes to the agent (its stdin). */
  readonly output: WritableStream<Uint8Array>;
  /** Bytes from the agent (its stdout). */
  readonly input: ReadableStream<Uint8Array>;
  readonly exited: Promise<ExitStatus>;
  private readonly stderr = new ByteTail(STDERR_TAIL_BYTES);

  private constructor(
    private readonly group: ProcessGroup,
    private readonly killGraceMs: number,
  ) {
    // node:stream/web types differ from the global ones in name only.
    this.output = Writable.toWeb(group.stdin) as unknown as WritableStream<Uint8Array>;
    this.input = Readable.toWeb(group.stdout) as unknown as ReadableStream<Uint8Array>;
    group.stderr.on("data", (chunk: Buffer) => this.stderr.push(chunk));
    this.exited = group.exited;
    void group.exited.then(() => this.terminate());
  }

  /** Starts `argv` (no shell). Throws SpawnError when the program cannot be started. */
  static async start(argv: readonly string[], options: { cwd: string; env: Record<string, string>; killGraceMs: number }): Promise<AgentProcess> {
    const group = await ProcessGroup.start(argv, { cwd: options.cwd, env: options.env, stdin: { pipe: true } });
    return new AgentProcess(group, options.killGraceMs);
  }

  get pid(): number {
    return this.group.pid;
  }

  /** The last few KiB the agent wrote to stderr. */
  stderrTail(): string {
    return this.stderr.text().trimEnd();
  }

  /** Ends every process of the group (SIGTERM, then SIGKILL after the grace); idempotent. */
  terminate(): Promise<void> {
    return this.group.terminate(this.killGraceMs);
  }
}
