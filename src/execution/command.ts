import { Type, type Static } from "@sinclair/typebox";
import { RuntimeError } from "../core/errors.ts";
import { BackendError, type BackendDefinition, type BackendEnvironment, type ExecutionBackend, type RunContext, type RunOutput } from "../core/ports/backend.ts";
import { environment } from "../platform/environment.ts";
import { ByteTail } from "./byte-tail.ts";
import { childEnv } from "./child-env.ts";
import { ProcessGroup, SpawnError, type ExitStatus } from "./process-group.ts";
import { DEFAULT_MAX_HISTORY_ITEMS, expandArgument, INPUT_PLACEHOLDER, jsonInput, runEnvironment } from "./run-context.ts";
import { WorkDirs } from "./work-dir.ts";

export { INPUT_PLACEHOLDER } from "./run-context.ts";
export const DEFAULT_MAX_OUTPUT_BYTES = 4 * 1024 * 1024;
export const DEFAULT_KILL_GRACE_MS = 2_000;
/** How much of the end of stderr a failed run reports. */
const STDERR_TAIL_BYTES = 2_048;

export const CommandSettings = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1, maxLength: 65_536 }), { minItems: 1, maxItems: 4_096 }),
    input: Type.Optional(Type.Union([Type.Literal("stdin"), Type.Literal("arg"), Type.Literal("json")])),
    /** With `input = "json"`: how many transcript entries before the input go in `history`. */
    max_history_items: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
    cwd: Type.Optional(Type.String({ minLength: 1, maxLength: 4_096 })),
    env: Type.Optional(
      Type.Record(Type.String({ pattern: "^[A-Za-z_][A-Za-z0-9_]*$" }), Type.String({ maxLength: 65_536 }), {
        additionalProperties: false,
      }),
    ),
    max_output_bytes: Type.Optional(Type.Integer({ minimum: 1, maximum: 1_073_741_824 })),
    kill_grace_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 600_000 })),
  },
  { additionalProperties: false },
);
export type CommandSettings = Static<typeof CommandSettings>;

/**
 * Runs a local program per run: argv only (never a shell), input on stdin or as an argument,
 * stdout streamed as output. The program leads its own process group; cancel, stop, timeout and
 * shutdown end the whole group (SIGTERM, then SIGKILL after `kill_grace_ms`), and so does the
 * program's own exit: background processes it left behind do not outlive the run.
 */
class CommandBackend implements ExecutionBackend {
  private readonly argv: readonly string[];
  private readonly mode: "stdin" | "arg" | "json";
  private readonly env: Record<string, string>;
  private readonly maxOutputBytes: number;
  private readonly killGraceMs: number;
  private readonly workDirs: WorkDirs;

  constructor(
    private readonly profile: string,
    private readonly settings: CommandSettings,
    parentEnv: BackendEnvironment,
  ) {
    const hasPlaceholder = settings.command.some((arg) => arg.includes(INPUT_PLACEHOLDER));
    const mode = settings.input ?? (hasPlaceholder ? "arg" : "stdin");
    if (mode !== "arg" && hasPlaceholder) {
      throw new RuntimeError(
        "invalid_request",
        `invalid profile: profiles.${profile}.input: "${mode}" cannot be combined with "${INPUT_PLACEHOLDER}" in command`,
      );
    }
    this.mode = mode;
    // With input = "arg" and no placeholder, the input is the last argument.
    this.argv = mode === "arg" && !hasPlaceholder ? [...settings.command, INPUT_PLACEHOLDER] : settings.command;
    this.env = childEnv(parentEnv, settings.env);
    this.maxOutputBytes = settings.max_output_bytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    this.killGraceMs = settings.kill_grace_ms ?? DEFAULT_KILL_GRACE_MS;
    this.workDirs = new WorkDirs(profile, settings.cwd, "yoi-runtime-command-");
  }

  async *run(context: RunContext): AsyncIterable<RunOutput> {
    const { signal } = context;
    let cwd = await this.workDirs.of(context, true);
    const stdin =
      this.mode === "stdin"
        ? context.input
        : this.mode === "json"
          ? await jsonInput(context, this.settings.max_history_items ?? DEFAULT_MAX_HISTORY_ITEMS)
          : null;
    if (signal.aborted) return;
    const input = this.mode === "arg" ? context.input : null;
    const start = (cwd: string) => {
      const argv = this.argv.map((arg) => expandArgument(arg, context, cwd, input));
      // The profile's own `env` may not take the run context's names: a program must be able to trust them.
      const env = { ...this.env, ...runEnvironment(context, cwd) };
      return ProcessGroup.run(argv, { cwd, env, stdin });
    };
    let started: Awaited<ReturnType<typeof ProcessGroup.run>>;
    try {
      try {
        started = await start(cwd);
      } catch (error) {
        // The work directory made for an earlier run may have been removed since: made again, once.
        if (!(error instanceof SpawnError && error.errno === "ENOENT" && this.workDirs.forget(cwd))) throw error;
        cwd = await this.workDirs.of(context, true);
        started = await start(cwd);
      }
    } catch (error) {
      if (error instanceof SpawnError) {
        throw new BackendError("spawn_failed", error.message, { program: error.program, errno: error.errno });
      }
      throw error;
    }

    const { group, stdout, stderr: stderrReader } = started;
    const stderr = new ByteTail(STDERR_TAIL_BYTES);
    const stderrDone = (async () => {
      for (let chunk = await stderrReader.read(); chunk; chunk = await stderrReader.read()) stderr.push(chunk);
    })();
    // Once the group is gone its pipes close; one held open by a process that left the group would not.
    const end = () =>
      group.terminate(this.killGraceMs).then(() => {
        stdout.stopAfter(this.killGraceMs);
        stderrReader.stopAfter(this.killGraceMs);
      });
    const onAbort = () => void end();
    signal.addEventListener("abort", onAbort, { once: true });
    if (signal.aborted) onAbort();
    // The leader's exit ends the run: whatever it left running in its group is ended with it.
    void group.exited.then(end);

    try {
      const decoder = new TextDecoder("utf-8");
      let bytes = 0;
      let overflow = false;
      for (let chunk = await stdout.read(); chunk && !signal.aborted; chunk = await stdout.read()) {
        let piece: Uint8Array = chunk;
        if (bytes + chunk.length > this.maxOutputBytes) {
          piece = chunk.subarray(0, this.maxOutputBytes - bytes);
          overflow = true;
        }
        bytes += piece.length;
        // Streaming decode: a character split across chunks is held until its last byte arrives.
        const text = decoder.decode(piece, { stream: true });
        if (text.length > 0) yield { type: "delta", text };
        if (overflow) break;
      }
      if (signal.aborted) return;
      if (overflow) {
        stdout.stop();
        await group.terminate(this.killGraceMs);
        throw new BackendError(
          "output_too_large",
          `the command wrote more than max_output_bytes (${this.maxOutputBytes}) to stdout; it was stopped and its output kept up to the limit`,
          { max_output_bytes: this.maxOutputBytes },
        );
      }
      const rest = decoder.decode();
      if (rest.length > 0) yield { type: "delta", text: rest };
      const status = await group.exited;
      await group.terminate(this.killGraceMs);
      await stderrDone;
      if (status.code === 0) return;
      throw exitError(status, stderr.text());
    } finally {
      signal.removeEventListener("abort", onAbort);
      // Also reached when the consumer stops iterating early: nothing of the run may outlive it.
      await group.terminate(this.killGraceMs);
      stdout.stop();
      stderrReader.stop();
    }
  }

  close(): Promise<void> {
    return this.workDirs.close();
  }
}

function exitError(status: ExitStatus, stderrTail: string): BackendError {
  const tail = stderrTail.trimEnd();
  const details = { exit_code: status.code, signal: status.signal, stderr_tail: tail };
  const suffix = tail.length > 0 ? `; stderr: ${tail}` : "";
  if (status.code !== null) {
    return new BackendError("exit_code", `the command exited with status ${status.code}${suffix}`, details);
  }
  return new BackendError("command_failed", `the command was killed by ${status.signal ?? "a signal"}${suffix}`, details);
}

export const commandBackend: BackendDefinition<CommandSettings> = {
  kind: "command",
  settings: CommandSettings,
  create: (name, settings, env = environment()) => {
    ProcessGroup.reapOrphans(DEFAULT_KILL_GRACE_MS);
    return new CommandBackend(name, settings, env);
  },
};
