// Type test (.ci/run): compiled with `tsc` in an empty project that installed the packed tarball,
// so it sees exactly the `.d.ts` a consumer gets. Each route's answer must be the schema's type,
// not `any`: the `Equal` checks fail otherwise, and so do the `@ts-expect-error` lines (an unused
// directive is an error).
import { createClient, unwrap, RuntimeClientError, type RuntimeClient, type RuntimeSummary, type WorkerDetail, type TranscriptEntry, type Ack } from "yoi-runtime/client";
import type { App } from "yoi-runtime/server";

type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends <T>() => T extends B ? 1 : 2 ? true : false;
function assertType<T extends true>(): T | undefined {
  return undefined;
}

export async function consumer(url: string): Promise<void> {
  const client: RuntimeClient = createClient({ url, token: null });

  const { runtime } = await unwrap(client.v1.runtime.get());
  assertType<Equal<typeof runtime, RuntimeSummary>>();

  const { worker } = await unwrap(client.v1.workers.post({ worker_id: "typed", display_name: "typed" }));
  assertType<Equal<typeof worker, WorkerDetail>>();

  const answer = await unwrap(client.v1.workers({ worker_id: worker.worker_ref.worker_id }).input.post({ kind: "user", content: "hi" }, { query: { wait: 5 } }));
  assertType<Equal<typeof answer.ack.run_id, Ack["run_id"]>>();

  const { transcript } = await unwrap(client.v1.workers({ worker_id: "typed" }).transcript.get({ query: { tail: 2 } }));
  assertType<Equal<(typeof transcript.items)[number], TranscriptEntry>>();

  for await (const event of client.events({ worker_id: "typed" })) {
    const kind: string = event.kind;
    if (kind) break;
  }

  // @ts-expect-error worker_id is a string
  await client.v1.workers.post({ worker_id: 42 });
  // @ts-expect-error there is no such route
  await client.v1.nothing.get();

  try {
    await unwrap(client.v1.workers({ worker_id: "nobody" }).get());
  } catch (error) {
    if (error instanceof RuntimeClientError) {
      const code: string = error.code;
      void code;
    }
  }
}

// Eden's App type is exported too, for consumers that build their own treaty.
export type ServerApp = App;
