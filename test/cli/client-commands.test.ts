import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap, type RuntimeClient } from "../../src/client/index.ts";
import { CLI, REPO, cleanScratch, runCli, scratchDir, spawnCli as spawnAt, startServer, until, type RunResult, type Server } from "./helpers.ts";

/**
 * The client commands (`workers`, `send`, `tail`, `chat`) against a real `serve` process. Profiles:
 * `words` streams its input back one word per delta, `drip` writes one word and then never ends,
 * `stuck` (echo) never ends on its own, `stubborn`
 * ignores SIGTERM (its cancel waits out a long kill grace), `fails` exits non-zero.
 */
const config = (dir: string) => `
[profiles.words]
backend = "command"
command = ["sh", "-c", "for w in $1; do printf '%s ' \\"$w\\"; sleep 0.01; done", "sh", "{input}"]

[profiles.drip]
backend = "command"
command = ["sh", "-c", "printf 'first '; exec sleep 3600"]

[profiles.stuck]
backend = "echo"
delay_ms = 3600000

[profiles.stubborn]
backend = "command"
command = ["sh", "-c", "trap '' TERM; echo $$ > '${dir}/stubborn.pid'; while :; do sleep 1; done"]
kill_grace_ms = 600000

[profiles.fails]
backend = "command"
command = ["sh", "-c", "echo oops >&2; exit 3"]
`;

const TOKEN = "tok-cli-client-5a7f0c2e";
let server: Server;
let secured: Server;
let api: RuntimeClient;
let serverDir: string;

beforeAll(async () => {
  const cwd = (serverDir = scratchDir());
  writeFileSync(join(cwd, "c.toml"), config(cwd));
  [server, secured] = await Promise.all([
    startServer(["serve", "--store", "memory", "--config", "c.toml", "--runtime-id", "rt-cli-client"], { cwd }),
    startServer(["serve", "--store", "memory", "--token-env", "YOI_TEST_TOKEN"], { env: { YOI_TEST_TOKEN: TOKEN } }),
  ]);
  api = createClient({ url: server.url });
});

afterAll(async () => {
  await Promise.all([server?.stop(), secured?.stop()]);
  cleanScratch();
});

/** Runs a client command against the test server (`--url` added unless `url` is false). */
function cli(args: string[], options: { url?: boolean; env?: Record<string, string | undefined> } = {}): Promise<RunResult> {
  return runCli(options.url === false ? args : [...args, "--url", server.url], { env: options.env });
}

async function createWorker(worker_id: string, profile?: string): Promise<void> {
  await unwrap(api.v1.workers.post({ worker_id, ...(profile ? { profile: { kind: "named" as const, value: profile } } : {}) }));
}

const workerStatus = async (id: string) => (await unwrap(api.v1.workers({ worker_id: id }).get())).worker.status;

const spawnCli = (args: string[], options: { stdin?: boolean } = {}) => spawnAt([...args, "--url", server.url], options);

describe("workers", () => {
  test("create / list / show, pretty and --json", async () => {
    expect(await cli(["workers", "create", "--id", "c1", "--display-name", "Cee One"])).toEqual({ code: 0, stdout: "c1\n", stderr: "" });
    const generated = await cli(["workers", "create"]);
    expect(generated.code).toBe(0);
    expect(generated.stdout).toMatch(/^w-[0-9a-z]+\n$/);
    const task = await cli(["workers", "create", "--id", "c2", "--task", "write tests", "--profile", "echo", "--json"]);
    expect(task.code).toBe(0);
    expect(JSON.parse(task.stdout)).toMatchObject({
      worker_ref: { worker_id: "c2" },
      intent: { kind: "task", objective: "write tests" },
      profile: { name: "echo" },
    });
    const role = JSON.parse((await cli(["workers", "create", "--id", "c3", "--role", "reviewer", "--purpose", "review", "--profile", "words", "--json"])).stdout);
    expect(role).toMatchObject({ intent: { kind: "role", role: "reviewer", purpose: "review" }, profile: { name: "words", backend: "command" } });

    const list = await cli(["workers", "list"]);
    expect(list.code).toBe(0);
    const lines = list.stdout.trimEnd().split("\n");
    expect(lines[0]).toMatch(/^WORKER\s+STATUS\s+PROFILE\s+ACTIVE RUN\s+LAST ACTIVITY\s+DISPLAY NAME$/);
    expect(lines.find((line) => line.startsWith("c1 "))).toMatch(/^c1\s+idle\s+echo\s+-\s+(just now|\d+s ago)\s+Cee One$/);
    const listed = JSON.parse((await cli(["workers", "list", "--json"])).stdout) as any[];
    expect(listed.map((worker) => worker.worker_ref.worker_id)).toEqual(expect.arrayContaining(["c1", "c2", "c3", generated.stdout.trim()]));
    expect(JSON.parse((await cli(["workers", "list", "--status", "stopped", "--json"])).stdout)).toEqual([]);

    const show = await cli(["workers", "show", "c1"]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^display_ref\s+Cee One@rt-cli-client$/m);
    expect(show.stdout).toMatch(/^last_activity\s+\S+Z \((just now|\d+s ago)\), event #\d+$/m);
    expect(show.stdout).toMatch(/^status\s+idle$/m);
    expect(JSON.parse((await cli(["workers", "show", "c2", "--json"])).stdout).intent).toEqual({ kind: "task", objective: "write tests" });
  });

  test("stop / restore / cancel / delete", async () => {
    await createWorker("life");
    expect(await cli(["workers", "stop", "life", "--reason", "maintenance"])).toEqual({ code: 0, stdout: "life stopped\n", stderr: "" });
    const stopped = JSON.parse((await cli(["workers", "show", "life", "--json"])).stdout);
    expect([stopped.status, stopped.stopped_reason]).toEqual(["stopped", "maintenance"]);
    expect((await cli(["workers", "restore", "life"])).stdout).toBe("life restored (idle)\n");
    expect((await cli(["workers", "cancel", "life"])).stdout).toBe("life had no active run\n");

    await createWorker("busy", "stuck");
    const { ack } = await unwrap(api.v1.workers({ worker_id: "busy" }).input.post({ kind: "user", content: "forever" }));
    expect((await cli(["workers", "cancel", "busy"])).stdout).toBe(`cancelled run ${ack.run_id} of busy\n`);
    const cancelledAck = JSON.parse((await cli(["workers", "cancel", "busy", "--json"])).stdout);
    expect(cancelledAck.cancelled_run_id).toBeNull();

    expect(await cli(["workers", "delete", "life"])).toEqual({ code: 0, stdout: "life deleted\n", stderr: "" });
    const gone = await cli(["workers", "show", "life"]);
    expect(gone.code).toBe(1);
    expect(gone.stdout).toBe("");
    expect(gone.stderr).toBe("yoi-runtime: worker_not_found: worker life does not exist\n");
  });
});

describe("send", () => {
  test("prints the ack; --wait prints the reply on stdout and the outcome on stderr; --json", async () => {
    await createWorker("s1");
    const sent = await cli(["send", "s1", "hello", "world"]);
    expect(sent.code).toBe(0);
    expect(sent.stdout).toMatch(/^accepted by s1: run r-[0-9a-z]+, transcript #0, event #\d+\n$/);

    // The first run may still be active: wait for it, then a waited send prints the reply.
    await until(async () => (await workerStatus("s1")) === "idle", "the first run to end");
    const waited = await cli(["send", "s1", "second input", "--wait"]);
    expect(waited.code).toBe(0);
    expect(waited.stdout).toBe("second input\n");
    expect(waited.stderr).toMatch(/^run r-[0-9a-z]+ completed in \d+ ms\n$/);

    const json = JSON.parse((await cli(["send", "s1", "as json", "--wait", "--json"])).stdout);
    expect(json.reply).toBe("as json");
    expect(json.run.status).toBe("completed");
    expect(json.ack.run_id).toBe(json.run.run_id);

    const system = await cli(["send", "s1", "be brief", "--system"]);
    expect(system.stdout).toMatch(/^accepted by s1 \(no run, transcript #\d+, event #\d+\)\n$/);
    const { transcript } = await unwrap(api.v1.workers({ worker_id: "s1" }).transcript.get({ query: { tail: 1 } }));
    expect(transcript.items[0]).toMatchObject({ role: "system", content: "be brief" });
  });

  test("a run that fails exits 1 with its error, printed once", async () => {
    await createWorker("f1", "fails");
    const result = await cli(["send", "f1", "go", "--wait"]);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toMatch(/^run r-\S+ failed in [\d.]+ m?s: exit_code: the command exited with status 3; stderr: oops\n$/);
    // --json: the outcome is in the document; nothing else is printed, the exit status stays.
    const json = await cli(["send", "f1", "go", "--wait", "--json"]);
    expect(json.code).toBe(1);
    expect(json.stderr).toBe("");
    expect(JSON.parse(json.stdout).run).toMatchObject({ status: "failed", error: { code: "exit_code" } });
  });

  test("input to a busy or stopped worker: the runtime's code and message, exit 1", async () => {
    await createWorker("s2", "stuck");
    await unwrap(api.v1.workers({ worker_id: "s2" }).input.post({ kind: "user", content: "forever" }));
    const busy = await cli(["send", "s2", "more"]);
    expect(busy.code).toBe(1);
    expect(busy.stderr).toStartWith("yoi-runtime: worker_busy: ");
    await unwrap(api.v1.workers({ worker_id: "s2" }).stop.post());
    expect((await cli(["send", "s2", "more", "--wait"])).stderr).toStartWith("yoi-runtime: worker_stopped: ");
  });
});

describe("tail", () => {
  test("--after 0 --json --worker: replays that worker's stored events as JSON lines, then follows; SIGINT exits 0", async () => {
    await createWorker("t1");
    const { ack } = await unwrap(api.v1.workers({ worker_id: "t1" }).input.post({ kind: "user", content: "replayed" }, { query: { wait: 30 } }));
    const tail = spawnCli(["tail", "--after", "0", "--json", "--worker", "t1"]);
    const runEnd = (text: string, runId: string) => text.split("\n").some((line) => line.includes('"run_completed"') && line.includes(runId));
    await until(() => runEnd(tail.stdout(), ack.run_id!), "the replayed run");
    // Live events follow the replay on the same connection.
    const live = await unwrap(api.v1.workers({ worker_id: "t1" }).input.post({ kind: "user", content: "live" }, { query: { wait: 30 } }));
    await until(() => runEnd(tail.stdout(), live.ack.run_id!), "the live run");
    tail.proc.kill("SIGINT");
    const result = await tail.exited;
    expect(result.code).toBe(0);
    const events = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(events.every((event) => event.worker_ref.worker_id === "t1")).toBe(true);
    expect(events[0].kind).toBe("worker_created");
    const kinds = events.map((event) => event.kind);
    expect(kinds.filter((kind) => kind === "run_completed")).toHaveLength(2);
    // Live deltas come through (a replay has none: they are never stored).
    expect(events.filter((event) => event.kind === "run_output_delta").map((event) => [event.id, event.data.delta])).toEqual([[null, "live"]]);
    const ids = events.filter((event) => event.id !== null).map((event) => event.id);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(new Set(ids).size).toBe(ids.length);
    expect(result.stderr).toBe(`following events of ${server.url} for t1 after #0\n`);
  });

  test("pretty: one line per event, from now on (earlier events are not shown)", async () => {
    await createWorker("t2");
    await unwrap(api.v1.workers({ worker_id: "t2" }).input.post({ kind: "user", content: "before" }, { query: { wait: 30 } }));
    const tail = spawnCli(["tail", "--worker", "t2"]);
    await until(() => tail.stderr().includes("following events"), "tail to connect");
    await unwrap(api.v1.workers({ worker_id: "t2" }).input.post({ kind: "user", content: "after" }, { query: { wait: 30 } }));
    await until(() => tail.stdout().includes(" run_completed "), "the run to be shown");
    tail.proc.kill("SIGINT");
    const result = await tail.exited;
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    const iso = "\\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z";
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(new RegExp(`^#\\d+ ${iso} worker_input_accepted t2 r-\\S+ user input #2$`));
    expect(lines[1]).toMatch(new RegExp(`^#\\d+ ${iso} run_started t2 r-\\S+ profile echo$`));
    expect(lines[2]).toMatch(new RegExp(`^- ${iso} run_output_delta t2 r-\\S+ "after"$`));
    expect(lines[3]).toMatch(new RegExp(`^#\\d+ ${iso} run_completed t2 r-\\S+ completed in \\d+ ms$`));
  });
});

describe("chat", () => {
  test("each stdin line is sent; the reply streams back; end of input exits 0 after the run", async () => {
    await createWorker("ch1", "words");
    const chat = spawnCli(["chat", "ch1"], { stdin: true });
    chat.write("one two three\nfour five\n");
    chat.endInput();
    const result = await chat.exited;
    expect(result).toEqual({
      code: 0,
      stdout: "one two three \nfour five \n",
      stderr: `chat with ch1@rt-cli-client (profile words, idle); Ctrl-C cancels a reply, end of input or Ctrl-C while idle quits\n`,
    });
    const { transcript } = await unwrap(api.v1.workers({ worker_id: "ch1" }).transcript.get());
    expect(transcript.items.map((item) => [item.role, item.content])).toEqual([
      ["user", "one two three"],
      ["assistant", "one two three "],
      ["user", "four five"],
      ["assistant", "four five "],
    ]);
  });

  test("the reply streams while the run is active; Ctrl-C cancels it and the chat goes on; Ctrl-C while idle exits 0", async () => {
    await createWorker("ch2", "drip");
    const chat = spawnCli(["chat", "ch2"], { stdin: true });
    chat.write("never ends\n");
    await until(() => chat.stdout() === "first ", "the first delta to be printed");
    expect(await workerStatus("ch2")).toBe("running");
    chat.proc.kill("SIGINT");
    await until(() => chat.stderr().includes("[run cancelled"), "the run to be reported cancelled");
    const { runs } = await unwrap(api.v1.workers({ worker_id: "ch2" }).runs.get());
    expect(runs.map((run) => run.status)).toEqual(["cancelled"]);
    expect(await workerStatus("ch2")).toBe("idle");
    chat.proc.kill("SIGINT");
    const result = await chat.exited;
    expect(result.code).toBe(0);
    // The partial reply, ended with a line break once the run was over.
    expect(result.stdout).toBe("first \n");
    expect(result.stderr).toContain("[run cancelled: cancelled from chat (Ctrl-C)]\n");
  });

  test("a second Ctrl-C while the cancel is still under way quits at once (exit 130)", async () => {
    await createWorker("ch3", "stubborn");
    const chat = spawnCli(["chat", "ch3"], { stdin: true });
    chat.write("ignore SIGTERM\n");
    // The program ignores SIGTERM once it wrote its pid: only then would a cancel be stuck.
    const pidFile = join(serverDir, "stubborn.pid");
    await until(() => existsSync(pidFile) && readFileSync(pidFile, "utf8").endsWith("\n"), "the run's pid");
    chat.proc.kill("SIGINT");
    await until(() => chat.stderr().includes("[cancelling the run"), "the cancel to be under way");
    chat.proc.kill("SIGINT");
    const result = await chat.exited;
    expect(result.code).toBe(130);
    expect(await workerStatus("ch3")).toBe("running");
    // The run's process ignores SIGTERM until its (long) kill grace: end its group here.
    const pid = Number(readFileSync(pidFile, "utf8"));
    process.kill(-pid, "SIGKILL");
    await until(async () => (await workerStatus("ch3")) === "idle", "the run to end");
  });

  test("an unknown worker exits 1 before reading any input", async () => {
    const result = await cli(["chat", "nobody"]);
    expect(result).toEqual({ code: 1, stdout: "", stderr: "yoi-runtime: worker_not_found: worker nobody does not exist\n" });
  });
});

describe("errors, flags, connection and token", () => {
  test("refused command lines exit 2 naming the problem", async () => {
    const cases: Array<[string[], string]> = [
      [["workers", "list", "--bogus"], "unknown flag --bogus for `yoi-runtime workers list`"],
      [["workers", "frob"], 'unknown command "frob" for `yoi-runtime workers`'],
      [["workers", "show", "a", "b"], 'unexpected argument "b"'],
      [["workers", "show"], "WORKER"],
      [["workers", "create", "--task", "x", "--role", "y"], "--task and --role exclude each other"],
      [["send", "w"], "TEXT"],
      [["tail", "--after", "-1"], "--after: expected a whole number from 0"],
      [["tail", "--url", "ftp://host"], "--url: expected an http:// or https:// URL"],
      [["tail", "--worker", "a b"], "--worker: worker_id must be"],
      [["chat"], "WORKER"],
      [["workers", "list", "--status", "bogus"], "--status must be one of idle, running, stopped, unavailable"],
      [["workers", "create", "--id", "a b"], "--id: worker_id must be 1-128 characters"],
      [["workers", "list", "--token-env", "A", "--token-file", "b"], "--token-env and --token-file exclude each other"],
      [["send", "w", "--file", "/no/such/file"], "--file: cannot read /no/such/file: it does not exist"],
      [["send", "w", "x", "--file", "f"], "either as TEXT or with --file"],
      [["runs", "w", "--limit", "0"], "--limit: expected a whole number from 1"],
      [["run", "w", "r-1", "--wait", "301"], "--wait: expected a whole number from 0 to 300"],
      [["transcript", "w", "--tail", "3", "--start", "1"], "--tail excludes --start and --limit"],
      [["diagnostics", "--level", "loud"], "--level must be one of info, warning, error"],
      [["completion", "tcsh"], "SHELL must be one of bash, zsh, fish"],
      [["help", "wrokers"], 'unknown command "wrokers" for `yoi-runtime` (did you mean "workers"?)'],
    ];
    for (const [args, needle] of cases) {
      const result = await runCli(args);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(result.stderr).toStartWith("yoi-runtime: ");
      expect(result.stderr).toContain(needle);
    }
  });

  test("a command-line mistake shows the command's own usage line, once", async () => {
    const missing = await runCli(["workers", "show"]);
    expect(missing).toEqual({
      code: 2,
      stdout: "",
      stderr:
        "yoi-runtime: missing <WORKER>\n" +
        "usage: yoi-runtime workers show [OPTIONS] <WORKER>\n" +
        "Run `yoi-runtime workers show --help` for details.\n",
    });
    const flag = await runCli(["workers", "list", "--stauts", "idle"]);
    expect(flag.stderr).toBe(
      "yoi-runtime: unknown flag --stauts for `yoi-runtime workers list` (did you mean --status?)\n" +
        "usage: yoi-runtime workers list [OPTIONS]\n" +
        "Run `yoi-runtime workers list --help` for details.\n",
    );
  });

  test("a malformed worker id is a command-line mistake (exit 2) for every client command, before any request", async () => {
    // The URL points nowhere: a request would fail with exit 1 instead.
    for (const args of [["workers", "show", "../runtime"], ["send", "../x", "hi"], ["chat", ".."], ["transcript", "a/b"], ["runs", "-"], ["run", "a b", "r-1"]]) {
      const result = await runCli([...args, "--url", "http://127.0.0.1:9"]);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 2, stdout: "" });
      expect(result.stderr).toContain("worker_id must be 1-128 characters");
    }
  });

  test("--json: every error is one {error} document on stderr, with the same exit status", async () => {
    const missing = await cli(["workers", "show", "nobody", "--json"]);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toBe("");
    expect(JSON.parse(missing.stderr)).toEqual({ error: { code: "worker_not_found", message: "worker nobody does not exist", details: { worker_id: "nobody" } } });
    const usage = await runCli(["workers", "list", "--status", "bogus", "--json"]);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stderr)).toEqual({
      error: {
        code: "usage_error",
        message: '--status must be one of idle, running, stopped, unavailable (got "bogus")',
        details: { usage: "yoi-runtime workers list [OPTIONS]" },
      },
    });
    const down = await runCli(["status", "--json", "--url", "http://127.0.0.1:9"]);
    expect(down.code).toBe(1);
    expect(JSON.parse(down.stderr).error.code).toBe("connection_failed");
  });

  test("connection refused: a clear message and exit 1, for every command", async () => {
    const closed = Bun.listen({ hostname: "127.0.0.1", port: 0, socket: { data() {} } });
    const url = `http://127.0.0.1:${closed.port}`;
    closed.stop(true);
    for (const args of [["workers", "list"], ["send", "w", "hi"], ["tail"], ["chat", "w"]]) {
      const result = await runCli([...args, "--url", url]);
      expect({ args, code: result.code, stdout: result.stdout }).toEqual({ args, code: 1, stdout: "" });
      expect(result.stderr).toBe(`yoi-runtime: cannot connect to ${url}: connection refused (is the runtime running? set --url or $YOI_RUNTIME_URL)\n`);
    }
  });

  test("$YOI_RUNTIME_URL is the default URL", async () => {
    const result = await cli(["workers", "list", "--json"], { url: false, env: { YOI_RUNTIME_URL: server.url } });
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout).length).toBeGreaterThan(0);
  });

  test("token from $YOI_RUNTIME_TOKEN or --token-env NAME; 401 without; never printed", async () => {
    const at = ["--url", secured.url];
    const without = await runCli(["workers", "list", ...at]);
    expect(without.code).toBe(1);
    expect(without.stderr).toStartWith("yoi-runtime: unauthorized: ");

    const results = [
      await runCli(["workers", "create", "--id", "tok1", ...at], { env: { YOI_RUNTIME_TOKEN: TOKEN } }),
      await runCli(["workers", "list", "--token-env", "MY_TOKEN", ...at], { env: { MY_TOKEN: TOKEN } }),
      await runCli(["send", "tok1", "hi", "--wait", "--token-env", "MY_TOKEN", ...at], { env: { MY_TOKEN: TOKEN } }),
    ];
    expect(results.map((result) => result.code)).toEqual([0, 0, 0]);
    expect(results[1]!.stdout).toContain("tok1");
    expect(results[2]!.stdout).toBe("hi\n");
    const tokenFile = join(scratchDir(), "token");
    writeFileSync(tokenFile, `${TOKEN}\n`);
    const fromFile = await runCli(["workers", "list", "--token-file", tokenFile, ...at]);
    expect(fromFile.code).toBe(0);
    expect(fromFile.stdout).toContain("tok1");
    const missingFile = await runCli(["workers", "list", "--token-file", `${tokenFile}-nope`, ...at]);
    expect(missingFile.code).toBe(2);
    expect(missingFile.stderr).toContain(`token file ${tokenFile}-nope does not exist`);
    results.push(fromFile, missingFile);
    const wrong = await runCli(["workers", "list", "--token-env", "MY_TOKEN", ...at], { env: { MY_TOKEN: `${TOKEN}x` } });
    expect(wrong.stderr).toStartWith("yoi-runtime: unauthorized: ");
    const unset = await runCli(["workers", "list", "--token-env", "NOT_SET_ANYWHERE", ...at]);
    expect(unset.code).toBe(2);
    expect(unset.stderr).toContain("NOT_SET_ANYWHERE is not set");
    for (const result of [without, ...results, wrong, unset]) {
      expect(result.stdout).not.toContain(TOKEN);
      expect(result.stderr).not.toContain(TOKEN);
    }
  });

  test("--help of each client command lists its flags", async () => {
    const expected: Record<string, string[]> = {
      "workers create": ["--id", "--display-name", "--profile", "--task", "--role", "--purpose", "--json", "--url", "--token-env"],
      send: ["--wait", "--system", "--json", "--url", "--token-env"],
      tail: ["--worker", "--after", "--json", "--url", "--token-env"],
      chat: ["--url", "--token-env"],
    };
    for (const [command, flags] of Object.entries(expected)) {
      const result = await runCli([...command.split(" "), "--help"]);
      expect(result.code).toBe(0);
      for (const flag of flags) expect(result.stdout).toContain(flag);
    }
    const top = await runCli(["--help"]);
    for (const name of ["workers", "send", "tail", "chat"]) expect(top.stdout).toContain(name);
  });
});

const deno = join(REPO, "node_modules/.bin/deno");

describe.skipIf(!existsSync(deno))("client commands under Deno (`deno run -A cli.ts`)", () => {
  test("workers list and send --wait", async () => {
    await createWorker("dn");
    const command = [deno, "run", "-A", CLI];
    const list = await runCli(["workers", "list", "--json", "--url", server.url], { command });
    expect(list.code).toBe(0);
    expect((JSON.parse(list.stdout) as any[]).map((worker) => worker.worker_ref.worker_id)).toContain("dn");
    const sent = await runCli(["send", "dn", "from deno", "--wait", "--url", server.url], { command });
    expect(sent.code).toBe(0);
    expect(sent.stdout).toBe("from deno\n");
    const missing = await runCli(["workers", "show", "nope", "--url", server.url], { command });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("yoi-runtime: worker_not_found: worker nope does not exist\n");
  });
});
