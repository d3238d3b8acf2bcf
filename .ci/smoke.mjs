// Smoke test of one way of running yoi-runtime (the compiled binary, Deno, the packed bin, npx):
//   node .ci/smoke.mjs LABEL [--store memory|fs] [--exit 0|signal] -- COMMAND [ARGS...]
// Starts `COMMAND serve --bind 127.0.0.1:0 --store KIND --log-format json` in the working
// directory, reads the bound address from the log, drives the API over HTTP, sends SIGTERM and
// expects exit 0 (`--exit signal`: expects COMMAND itself to end by the SIGTERM, as npx does when
// its shell dies) and the server to stop gracefully. With `--store fs` it then starts again on the
// same data and expects the worker and its transcript back. `SMOKE_CLIENTS`, a JSON array of
// argv arrays, names client programs run against the first server with its URL appended; each
// prints `CLIENT <passed> <failed>`, added to the counts. Prints one `ok - ...` / `not ok - ...`
// line per check and, last, `SMOKE <passed> <failed>`. Plain Node (no Bun, no dependencies), so
// it judges the runtime under test from outside.
import { spawn } from "node:child_process";

const argv = process.argv.slice(2);
const label = argv.shift();
let store = "memory";
let expectedExit = "0";
while (argv[0] === "--store" || argv[0] === "--exit") {
  const option = argv.shift();
  if (option === "--store") store = argv.shift();
  else expectedExit = argv.shift();
}
const separator = argv.shift();
const command = argv;
const clients = JSON.parse(process.env.SMOKE_CLIENTS ?? "[]");
if (!label || separator !== "--" || command.length === 0 || !["memory", "fs"].includes(store) || !["0", "signal"].includes(expectedExit)) {
  console.error("usage: node .ci/smoke.mjs LABEL [--store memory|fs] [--exit 0|signal] -- COMMAND [ARGS...]");
  process.exit(2);
}

const START_TIMEOUT_MS = 60_000;
const EXIT_TIMEOUT_MS = 10_000;
let passed = 0;
let failed = 0;

function check(name, ok, detail = "") {
  if (ok) passed++;
  else failed++;
  console.log(`${ok ? "ok" : "not ok"} - ${label}: ${name}${ok || !detail ? "" : ` (${detail})`}`);
  return ok;
}

async function call(url, method, path, body) {
  const response = await fetch(`${url}${path}`, {
    method,
    headers: body === undefined ? {} : { "content-type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {}
  return { status: response.status, json, text };
}

/** Starts the server, runs `drive(url)`, stops it with SIGTERM; every step is a check. */
async function session(name, drive) {
  const child = spawn(command[0], [...command.slice(1), "serve", "--bind", "127.0.0.1:0", "--store", store, "--log-format", "json"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stderr.on("data", (chunk) => (log += chunk));
  child.stdout.on("data", (chunk) => (log += chunk));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const url = await new Promise((resolve) => {
    const deadline = setTimeout(() => resolve(null), START_TIMEOUT_MS);
    const poll = setInterval(() => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(log);
      if (match) {
        clearInterval(poll);
        clearTimeout(deadline);
        resolve(match[1]);
      }
    }, 25);
    exited.then(() => {
      clearInterval(poll);
      clearTimeout(deadline);
      resolve(null);
    });
  });
  if (check(`${name}starts and logs the bound address`, url !== null, log.trim().split("\n").slice(-3).join(" | "))) {
    try {
      await drive(url);
    } catch (error) {
      check(`${name}HTTP requests`, false, String(error));
    }
  }
  if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
  const result = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve(null), EXIT_TIMEOUT_MS))]);
  if (result === null) child.kill("SIGKILL");
  const detail = result === null ? "still running after 10 s" : `code ${result.code} signal ${result.signal}`;
  if (expectedExit === "0") check(`${name}SIGTERM exits 0`, result !== null && result.code === 0, detail);
  else check(`${name}SIGTERM ends it by the signal`, result !== null && result.signal === "SIGTERM", detail);
  // The server may outlive COMMAND (a wrapper that died of the signal): it must still stop cleanly.
  check(`${name}log says stopped`, await eventually(() => /"msg":"stopped"/.test(log)), log.trim().split("\n").slice(-2).join(" | "));
  if (url) check(`${name}nothing listens on ${url} any more`, await eventually(async () => !(await answers(url))));
}

/** Polls `condition` until it holds or EXIT_TIMEOUT_MS passed; answers whether it held. */
async function eventually(condition) {
  const deadline = Date.now() + EXIT_TIMEOUT_MS;
  while (!(await condition())) {
    if (Date.now() > deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return true;
}

async function answers(url) {
  try {
    await fetch(`${url}/healthz`);
    return true;
  } catch {
    return false;
  }
}

/** Runs one client program against `url`; its `CLIENT p f` line adds to the counts. */
function runClient(argv, url) {
  return new Promise((resolve) => {
    const child = spawn(argv[0], [...argv.slice(1), url], { stdio: ["ignore", "pipe", "inherit"] });
    let out = "";
    child.stdout.on("data", (chunk) => {
      out += chunk;
      process.stdout.write(chunk);
    });
    child.on("error", (error) => resolve(check(`client ${argv.join(" ")} starts`, false, String(error))));
    child.on("exit", (code) => {
      const summary = /^CLIENT (\d+) (\d+)$/m.exec(out);
      if (!summary) return resolve(check(`client ${argv.join(" ")} ran to the end`, false, `exit ${code}`));
      passed += Number(summary[1]);
      failed += Number(summary[2]);
      resolve(true);
    });
  });
}

await session("", async (url) => {
  const health = await call(url, "GET", "/healthz");
  check("GET /healthz", health.status === 200 && health.json?.ok === true, `${health.status} ${health.text}`);
  const runtime = await call(url, "GET", "/v1/runtime");
  check(`GET /v1/runtime (store ${store})`, runtime.status === 200 && runtime.json?.runtime?.store === store, `${runtime.status} ${runtime.text}`);
  const created = await call(url, "POST", "/v1/workers", { worker_id: "smoke", display_name: "smoke test" });
  check("POST /v1/workers", created.status === 201 && created.json?.worker?.worker_ref?.worker_id === "smoke", `${created.status} ${created.text}`);
  const input = await call(url, "POST", "/v1/workers/smoke/input?wait=5", { kind: "user", content: "hello from CI" });
  check("POST input ?wait=5 completes the run", input.status === 200 && input.json?.run?.status === "completed", `${input.status} ${input.text}`);
  const transcript = await call(url, "GET", "/v1/workers/smoke/transcript");
  const items = transcript.json?.transcript?.items ?? [];
  check(
    "GET transcript has the input and the reply",
    transcript.status === 200 && items.length === 2 && items[1].role === "assistant" && items[1].content === "hello from CI",
    `${transcript.status} ${transcript.text}`,
  );
  const missing = await call(url, "GET", "/v1/workers/nobody");
  check("errors are uniform (404 worker_not_found)", missing.status === 404 && missing.json?.error?.code === "worker_not_found", `${missing.status} ${missing.text}`);
  for (const client of clients) await runClient(client, url);
});

if (store === "fs") {
  await session("restart: ", async (url) => {
    const transcript = await call(url, "GET", "/v1/workers/smoke/transcript");
    const items = transcript.json?.transcript?.items ?? [];
    check("restart: the worker and its transcript are back", transcript.status === 200 && items.length === 2 && items[0].content === "hello from CI", `${transcript.status} ${transcript.text}`);
  });
}

console.log(`SMOKE ${passed} ${failed}`);
process.exit(failed === 0 ? 0 : 1);
