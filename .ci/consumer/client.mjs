// The client library as a consumer uses it from an installed package, in plain JavaScript so the
// same file runs under Node (`node client.mjs URL`) and Deno (`deno run -A client.mjs URL`), with
// `yoi-runtime/client` resolved from the project's node_modules. Drives a running runtime: one
// `ok - ...`/`not ok - ...` line per check, then `CLIENT <passed> <failed>`.
import { createClient, isRuntimeClientError, unwrap } from "yoi-runtime/client";

const url = process.argv[2];
const runtimeName = typeof Deno !== "undefined" ? "deno" : typeof Bun !== "undefined" ? "bun" : "node";
let passed = 0;
let failed = 0;

async function check(name, body) {
  let detail = "";
  let ok = false;
  try {
    ok = await body();
  } catch (error) {
    detail = String(error);
  }
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "not ok"} - client under ${runtimeName}: ${name}${detail ? ` (${detail})` : ""}`);
}

const client = createClient({ url });
const workerId = `client-${runtimeName}`;

await check("GET /v1/runtime", async () => (await unwrap(client.v1.runtime.get())).runtime.runtime_id.length > 0);
await check("create a worker", async () => (await unwrap(client.v1.workers.post({ worker_id: workerId }))).worker.worker_ref.worker_id === workerId);
await check("input with wait completes the run", async () => {
  const answer = await unwrap(client.v1.workers({ worker_id: workerId }).input.post({ kind: "user", content: `hello from ${runtimeName}` }, { query: { wait: 5 } }));
  return answer.run?.status === "completed";
});
await check("transcript has the reply", async () => {
  const { transcript } = await unwrap(client.v1.workers({ worker_id: workerId }).transcript.get());
  return transcript.items.at(-1)?.content === `hello from ${runtimeName}`;
});
await check("events() streams the worker's stored events", async () => {
  const abort = new AbortController();
  for await (const event of client.events({ worker_id: workerId, after: 0, signal: abort.signal })) {
    abort.abort();
    return typeof event.kind === "string";
  }
  return false;
});
await check("a missing worker is a RuntimeClientError worker_not_found", async () => {
  try {
    await unwrap(client.v1.workers({ worker_id: "nobody" }).get());
    return false;
  } catch (error) {
    return isRuntimeClientError(error) && error.code === "worker_not_found";
  }
});

console.log(`CLIENT ${passed} ${failed}`);
process.exit(failed === 0 ? 0 : 1);
