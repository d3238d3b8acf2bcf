import { Type } from "@sinclair/typebox";
import { sleep } from "../shared/sleep.ts";
import type { BackendDefinition, ExecutionBackend, RunContext, RunOutput } from "../core/ports/backend.ts";

export const EchoSettings = Type.Object(
  { delay_ms: Type.Optional(Type.Integer({ minimum: 0, maximum: 3_600_000 })) },
  { additionalProperties: false },
);

/** Replies with the input, optionally after `delay_ms` (for demos and tests of wait/cancel). */
class EchoBackend implements ExecutionBackend {
  constructor(private readonly delayMs: number) {}

  async *run({ input, signal }: RunContext): AsyncIterable<RunOutput> {
    if (this.delayMs > 0) await sleep(this.delayMs, signal);
    if (signal.aborted) return;
    yield { type: "delta", text: input };
  }
}

export const echoBackend: BackendDefinition<{ delay_ms?: number }> = {
  kind: "echo",
  settings: EchoSettings,
  create: (_name, settings) => new EchoBackend(settings.delay_ms ?? 0),
};
