import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap, type RuntimeClient, type RuntimeEvent } from "../../src/client/index.ts";
import { cleanScratch, REPO, scratchDir, startServer, type Server } from "../cli/helpers.ts";
import { clientError, take } from "./helpers.ts";

const TOKEN = "tok-client-9d1c7b55";
let server: Server;
let client: RuntimeClient;

beforeAll(async () => {
  const cwd = scratchDir();
  writeFileSync(join(cwd, "c.toml"), `[profiles.stuck]\nbackend = "echo"\ndelay_ms = 3600000\n`);
  server = await startServer(["serve", "--store", "memory", "--config", "c.toml", "--token-env", "YOI_TEST_TOKEN", "--runtime-id", "rt-typed"], {
    cwd,
    env: { YOI_TEST_TOKEN: TOKEN },
  });
  client = createClient({ url: server.url, token: TOKEN });
});

afterAll(async () => {
  await server?.stop();
  cleanScratch();
});

describe("typed calls against a real server process", () => {
  test("runtime summary, create, list, show: typed data, dates left as strings", async () => {
    const { runtime } = await unwrap(client.v1.runtime.get());
    expect(runtime.runtime_id).toBe("rt-typed");
    expect(runtime.profiles.map((profile) => profile.name).sort()).toEqual(["echo", "stuck"]);

    const created = await unwrap(client.v1.workers.post({ worker_id: "t1", display_name: "Typed one", intent: { kind: "task", objective: "test" } }));
    expect(created.worker.worker_ref).toEqual({ runtime_id: "rt-typed", worker_id: "t1" });
    expect(created.worker.display_ref).toBe("Typed one@rt-typed");
    expect(typeof created.worker.created_at).toBe("string");

    const { workers, next_after } = await unwrap(client.v1.workers.get({ query: { limit: 500 } }));
    expect(workers.map((worker) => worker.worker_ref.worker_id)).toContain("t1");
    expect(next_after).toBeNull();
    const shown = await unwrap(client.v1.workers({ worker_id: "t1" }).get());
    expect(shown.worker.intent).toEqual({ kind: "task", objective: "test" });
  });

  test("input with ?wait answers the finished run; transcript and runs read back", async () => {
    await unwrap(client.v1.workers.post({ worker_id: "t2" }));
    const answer = await unwrap(client.v1.workers({ worker_id: "t2" }).input.post({ kind: "user", content: "hello typed" }, { query: { wait: 30 } }));
    expect(answer.ack.run_id).not.toBeNull();
    expect("run" in answer && answer.run?.status).toBe("completed");
    const { transcript } = await unwrap(client.v1.workers({ worker_id: "t2" }).transcript.get({ query: { tail: 2 } }));
    expect(transcript.items.map((item) => [item.role, item.content])).toEqual([
      ["user", "hello typed"],
      ["assistant", "hello typed"],
    ]);
    const { runs } = await unwrap(client.v1.workers({ worker_id: "t2" }).runs.get());
    expect(runs.map((run) => run.run_id)).toEqual([answer.ack.run_id!]);
    const { run } = await unwrap(client.v1.workers({ worker_id: "t2" }).runs({ run_id: answer.ack.run_id! }).get());
    expect(run.output_sequence).toBe(1);
  });

  test("lifecycle: busy, cancel, stop, restore, delete", async () => {
    await unwrap(client.v1.workers.post({ worker_id: "t3", profile: { kind: "named", value: "stuck" } }));
    const worker = client.v1.workers({ worker_id: "t3" });
    const { ack } = await unwrap(worker.input.post({ kind: "user", content: "never ends" }));
    const busy = await clientError(unwrap(worker.input.post({ kind: "user", content: "second" })));
    expect({ code: busy.code, status: busy.status, active: busy.details?.active_run_id }).toEqual({
      code: "worker_busy",
      status: 409,
      active: ack.run_id,
    });
    const cancelled = await unwrap(worker.cancel.post({ reason: "test" }));
    expect(cancelled.ack.cancelled_run_id).toBe(ack.run_id);
    expect((await unwrap(worker.stop.post())).ack.status).toBe("stopped");
    expect((await clientError(unwrap(worker.input.post({ kind: "user", content: "x" })))).code).toBe("worker_stopped");
    expect((await unwrap(worker.restore.post())).ack.status).toBe("idle");
    expect((await unwrap(worker.delete())).deleted).toEqual({ runtime_id: "rt-typed", worker_id: "t3" });
    const gone = await clientError(unwrap(worker.get()));
    expect({ code: gone.code, status: gone.status }).toEqual({ code: "worker_not_found", status: 404 });
    expect(gone.message).toContain("t3");
  });

  test("a bare host:port (and a trailing slash) means http://host:port", async () => {
    const bare = createClient({ url: `${server.url.replace("http://", "")}/`, token: TOKEN });
    expect(bare.url).toBe(server.url);
    expect((await unwrap(bare.v1.runtime.get())).runtime.runtime_id).toBe("rt-typed");
    const events = bare.events({ after: 0 });
    expect((await events.next()).value?.kind).toBe("runtime_started");
    await events.return();
  });

  test("the runtime's validation errors come back as {code, message}", async () => {
    const error = await clientError(unwrap(client.v1.workers.post({ profile: { kind: "named", value: "no-such-profile" } })));
    expect({ code: error.code, status: error.status }).toEqual({ code: "unknown_profile", status: 400 });
  });

  test("without the token: 401 unauthorized; unreachable: connection_failed naming the URL", async () => {
    const anonymous = createClient({ url: server.url });
    const error = await clientError(unwrap(anonymous.v1.workers.get()));
    expect({ code: error.code, status: error.status }).toEqual({ code: "unauthorized", status: 401 });
    // /healthz needs no token.
    expect(await unwrap(anonymous.healthz.get())).toEqual({ ok: true });

    const down = createClient({ url: "http://127.0.0.1:9" });
    const refused = await clientError(unwrap(down.v1.runtime.get()));
    expect(refused.code).toBe("connection_failed");
    expect(refused.status).toBeNull();
    expect(refused.message).toStartWith("cannot connect to http://127.0.0.1:9: ");
  });

  test("events() over the real socket: replay from 0, then live, with deltas", async () => {
    const events = client.events({ after: 0 });
    const replayed = await take(events, (event) => event.kind === "worker_created" && event.worker_ref?.worker_id === "t1");
    expect(replayed[0]!.kind).toBe("runtime_started");
    await unwrap(client.v1.workers.post({ worker_id: "t4" }));
    await unwrap(client.v1.workers({ worker_id: "t4" }).input.post({ kind: "user", content: "live" }));
    const live: RuntimeEvent[] = await take(events, (event) => event.kind === "run_completed" && event.worker_ref?.worker_id === "t4");
    await events.return();
    const t4 = live.filter((event) => event.worker_ref?.worker_id === "t4").map((event) => event.kind);
    expect(t4).toEqual(["worker_created", "worker_input_accepted", "run_started", "run_output_delta", "run_completed"]);
    const ids = [...replayed, ...live].filter((event) => event.id !== null).map((event) => event.id!);
    expect(ids).toEqual(ids.map((_, i) => i + 1));
  });
});

describe("the client module", () => {
  test("loads no server code at run time: its only package import is Eden's treaty", async () => {
    const built = await Bun.build({ entrypoints: [join(REPO, "src/client/index.ts")], target: "bun", packages: "external" });
    expect(built.success).toBe(true);
    const code = await built.outputs[0]!.text();
    const imports = [...code.matchAll(/^import\s[^;]*?from\s*"([^"]+)"/gm)].map((match) => match[1]);
    expect(imports).toEqual(["@elysiajs/eden/treaty2"]);
    expect(code).not.toContain("src/server/");
    expect(code).not.toContain("@sinclair/typebox");
  });
});
