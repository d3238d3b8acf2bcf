import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap, type RuntimeClient } from "../../src/client/index.ts";
import { CLI, cleanScratch, runCli, scratchDir, spawnCli, startServer, until, type RunResult, type Server } from "./helpers.ts";

/**
 * The read commands (`status`, `profiles`, `transcript`, `runs`, `run`, `diagnostics`, `events`,
 * `workers show`) against a real `serve` process: human output (aligned, plain when piped) and
 * `--json` (the runtime's JSON, one document). Profiles: `fails` exits non-zero, `slow` (echo)
 * takes a second, `tools` declares capabilities.
 */
const CONFIG = `
default_profile = "slow"
[profiles.fails]
backend = "command"
command = ["sh", "-c", "echo broken >&2; exit 7"]

[profiles.slow]
backend = "echo"
delay_ms = 1000

[profiles.tools]
backend = "echo"
capabilities = ["shell", "web"]
`;

let server: Server;
let api: RuntimeClient;
const ANSI = "\x1b[";

beforeAll(async () => {
  const cwd = scratchDir();
  writeFileSync(join(cwd, "c.toml"), CONFIG);
  server = await startServer(["serve", "--store", "memory", "--config", "c.toml", "--runtime-id", "rt-read", "--display-name", "Reader"], { cwd });
  api = createClient({ url: server.url });
  await unwrap(api.v1.workers.post({ worker_id: "r1", profile: { kind: "builtin", value: "echo" }, intent: { kind: "task", objective: "answer" } }));
  for (const content of ["first", "second", "third"]) {
    await unwrap(api.v1.workers({ worker_id: "r1" }).input.post({ kind: "user", content }, { query: { wait: 30 } }));
  }
  await unwrap(api.v1.workers.post({ worker_id: "bad", profile: { kind: "named", value: "fails" } }));
  await unwrap(api.v1.workers({ worker_id: "bad" }).input.post({ kind: "user", content: "go" }, { query: { wait: 30 } }));
});

afterAll(async () => {
  await server?.stop();
  cleanScratch();
});

const cli = (args: string[]): Promise<RunResult> => runCli([...args, "--url", server.url]);

/** Runs a command that must succeed; its output, piped, carries no colour codes. */
async function ok(args: string[]): Promise<string> {
  const result = await cli(args);
  expect({ args, code: result.code, stderr: result.stderr.includes("yoi-runtime:") ? result.stderr : "" }).toEqual({ args, code: 0, stderr: "" });
  expect(result.stdout).not.toContain(ANSI);
  expect(result.stderr).not.toContain(ANSI);
  return result.stdout;
}

const json = async (args: string[]) => JSON.parse(await ok([...args, "--json"]));

describe("status and profiles", () => {
  test("status: the runtime summary, aligned; --json is GET /v1/runtime's summary", async () => {
    const text = await ok(["status"]);
    expect(text).toMatch(/^runtime\s+rt-read$/m);
    expect(text).toMatch(/^display_name\s+Reader$/m);
    expect(text).toMatch(/^status\s+running$/m);
    expect(text).toMatch(/^store\s+memory$/m);
    expect(text).toMatch(/^started\s+\S+Z \((just now|\d+[smh] ago)\)$/m);
    expect(text).toMatch(/^workers\s+2 \(2 idle\)$/m);
    expect(text).toMatch(/^default_profile\s+slow$/m);
    expect(text).toMatch(/^profiles\s+echo, fails, slow, tools$/m);
    // Values start in one column.
    const columns = new Set(text.trimEnd().split("\n").map((line) => line.search(/(?<=\S)\s{2,}\S/) + line.slice(line.search(/(?<=\S)\s{2,}\S/)).search(/\S/)));
    expect(columns.size).toBe(1);
    const { runtime } = await unwrap(api.v1.runtime.get());
    const summary = await json(["status"]);
    expect({ ...summary, started_at: null }).toEqual({ ...runtime, started_at: null, last_event_id: summary.last_event_id });
  });

  test("profiles: a table with the default marked; --json is the summary's profile list", async () => {
    const lines = (await ok(["profiles"])).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^PROFILE\s+BACKEND\s+DEFAULT\s+CAPABILITIES$/);
    expect(lines.slice(1).map((line) => line.split(/\s{2,}/))).toEqual([
      ["echo", "echo", "-"],
      ["fails", "command", "-"],
      ["slow", "echo", "yes", "-"],
      ["tools", "echo", "shell, web"],
    ]);
    expect((await json(["profiles"])).map((profile: any) => [profile.name, profile.is_default])).toEqual([
      ["echo", false],
      ["fails", false],
      ["slow", true],
      ["tools", false],
    ]);
  });
});

describe("workers create", () => {
  test("an unknown profile lists the configured ones (and the close one)", async () => {
    expect(await cli(["workers", "create", "--profile", "tols"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'yoi-runtime: unknown_profile: profile "tols" does not exist (did you mean "tools"? configured: echo, fails, slow, tools)\n',
    });
    const json = await cli(["workers", "create", "--profile", "zzz", "--json"]);
    expect(JSON.parse(json.stderr).error).toEqual({
      code: "unknown_profile",
      message: 'profile "zzz" does not exist (configured: echo, fails, slow, tools)',
      details: { profile: "zzz", configured: ["echo", "fails", "slow", "tools"] },
    });
  });
});

describe("workers show", () => {
  test("the detail: intent, profile, status, active run, counts, last activity", async () => {
    const text = await ok(["workers", "show", "r1"]);
    for (const line of [/^intent\s+task: answer$/m, /^profile\s+echo \(echo\)$/m, /^status\s+idle$/m, /^active_run\s+-$/m, /^transcript\s+6 items$/m, /^runs\s+3$/m, /^last_activity\s+\S+Z \((just now|\d+s ago)\), event #\d+$/m]) {
      expect(text).toMatch(line);
    }
  });
});

describe("transcript", () => {
  test("the last entries by default, --tail, a page with --start/--limit; --json is the page", async () => {
    const all = await ok(["transcript", "r1"]);
    expect(all.match(/^#\d+ (user|assistant) /gm)).toEqual(["#0 user ", "#1 assistant ", "#2 user ", "#3 assistant ", "#4 user ", "#5 assistant "]);
    expect(all).toContain("#4 user r-");
    expect(all).toMatch(/^  third$/m);
    const tail = await cli(["transcript", "r1", "--tail", "2"]);
    expect(tail.stdout.match(/^#\d+/gm)).toEqual(["#4", "#5"]);
    expect(tail.stderr).toBe("(4 earlier entries; --start 0 to read from the beginning)\n");
    const page = await cli(["transcript", "r1", "--start", "1", "--limit", "2"]);
    expect(page.stdout.match(/^#\d+/gm)).toEqual(["#1", "#2"]);
    expect(page.stderr).toBe("(more from --start 3)\n");
    const document = await json(["transcript", "r1", "--start", "2", "--limit", "1"]);
    expect(document).toMatchObject({ worker_ref: { worker_id: "r1" }, start: 2, limit: 1, total_items: 6, next_start: 3 });
    expect(document.items.map((item: any) => [item.sequence, item.role, item.content])).toEqual([[2, "user", "second"]]);
  });

  test("--follow prints entries as they are written; Ctrl-C ends it with 0", async () => {
    await unwrap(api.v1.workers.post({ worker_id: "fol", profile: { kind: "builtin", value: "echo" } }));
    await unwrap(api.v1.workers({ worker_id: "fol" }).input.post({ kind: "user", content: "before" }, { query: { wait: 30 } }));
    const follow = spawnCli(["transcript", "fol", "--follow", "--json", "--url", server.url]);
    await until(() => follow.stdout().split("\n").filter(Boolean).length === 2, "the existing entries");
    await unwrap(api.v1.workers({ worker_id: "fol" }).input.post({ kind: "user", content: "after" }, { query: { wait: 30 } }));
    await until(() => follow.stdout().split("\n").filter(Boolean).length === 4, "the new entries");
    follow.proc.kill("SIGINT");
    const result = await follow.exited;
    expect(result.code).toBe(0);
    const entries = result.stdout.trimEnd().split("\n").map((line) => JSON.parse(line));
    expect(entries.map((entry) => [entry.sequence, entry.content])).toEqual([
      [0, "before"],
      [1, "before"],
      [2, "after"],
      [3, "after"],
    ]);
  });

  test("an unknown worker: the runtime's error, exit 1", async () => {
    expect(await cli(["transcript", "ghost"])).toEqual({ code: 1, stdout: "", stderr: "yoi-runtime: worker_not_found: worker ghost does not exist\n" });
  });
});

describe("runs and run", () => {
  test("runs: a table newest last, --limit, --status; --json is the run list", async () => {
    const lines = (await ok(["runs", "r1"])).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^RUN\s+STATUS\s+STARTED\s+TOOK\s+OUTPUT\s+ERROR$/);
    expect(lines).toHaveLength(4);
    for (const line of lines.slice(1)) expect(line).toMatch(/^r-\S+\s+completed\s+(just now|\d+s ago)\s+\d+ ms\s+#\d\s+-$/);
    const limited = await cli(["runs", "r1", "--limit", "1"]);
    expect(limited.stdout.trimEnd().split("\n")).toHaveLength(2);
    expect(limited.stdout).toContain("#5");
    expect(limited.stderr).toBe("(2 earlier runs; --limit 3 shows all)\n");
    const failed = await ok(["runs", "bad", "--status", "failed"]);
    expect(failed).toMatch(/failed .* exit_code: the command exited with status 7; stderr: broken$/m);
    const none = await cli(["runs", "bad", "--status", "completed"]);
    expect(none).toEqual({ code: 0, stdout: "", stderr: "bad has no runs with status completed\n" });
    const runs = await json(["runs", "r1"]);
    expect(runs.map((run: any) => run.status)).toEqual(["completed", "completed", "completed"]);
  });

  test("run: one run's detail; --wait waits for an active one; --json is the run", async () => {
    const [last] = (await json(["runs", "bad", "--limit", "1"])) as any[];
    const text = await ok(["run", "bad", last.run_id]);
    expect(text).toMatch(new RegExp(`^run\\s+${last.run_id}$`, "m"));
    expect(text).toMatch(/^status\s+failed$/m);
    expect(text).toMatch(/^error\s+exit_code: the command exited with status 7; stderr: broken$/m);
    expect(text).toMatch(/^took\s+\d+ ms$/m);

    await unwrap(api.v1.workers.post({ worker_id: "slow1" }));
    const { ack } = await unwrap(api.v1.workers({ worker_id: "slow1" }).input.post({ kind: "user", content: "wait for me" }));
    const running = await json(["run", "slow1", ack.run_id!]);
    expect(running.status).toBe("running");
    const waited = await json(["run", "slow1", ack.run_id!, "--wait", "30"]);
    expect(waited).toMatchObject({ run_id: ack.run_id, status: "completed", output_sequence: 1 });
    const missing = await cli(["run", "r1", "r-nope"]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toStartWith("yoi-runtime: run_not_found: ");
  });
});

describe("diagnostics and events", () => {
  test("diagnostics: a table, --level filters to that level and worse; --json is the list", async () => {
    const all = (await json(["diagnostics"])) as any[];
    expect(all.filter((diagnostic) => diagnostic.worker_ref?.worker_id === "bad").map((diagnostic) => [diagnostic.level, diagnostic.code])).toEqual([
      ["warning", "run_failed"],
    ]);
    const lines = (await ok(["diagnostics", "--level", "warning"])).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^WHEN\s+LEVEL\s+CODE\s+WORKER\s+RUN\s+MESSAGE$/);
    expect(lines.slice(1)).toEqual([expect.stringMatching(/^(just now|\d+s ago)\s+warning\s+run_failed\s+bad\s+r-\S+\s+run r-\S+ failed: the command exited with status 7; stderr: broken$/)]);
    expect(await cli(["diagnostics", "--level", "error"])).toEqual({ code: 0, stdout: "", stderr: "no diagnostics at level error or above\n" });
    expect(await json(["diagnostics", "--level", "error"])).toEqual([]);
  });

  test("events: one batch, one line per event; --after, --limit, --worker; --json is the batch", async () => {
    const batch = await json(["events", "--worker", "r1", "--limit", "2"]);
    expect(batch.events.map((event: any) => event.kind)).toEqual(["worker_created", "worker_input_accepted"]);
    expect(batch.has_more).toBe(true);
    const result = await cli(["events", "--worker", "r1", "--after", String(batch.next_after), "--limit", "1"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^#\d+ \S+Z run_started r1 r-\S+ profile echo\n$/);
    expect(result.stderr).toMatch(/^\(more: --after \d+\)\n$/);
  });
});

describe.skipIf(Bun.which("script") === null)("colour", () => {
  /** Runs the CLI on a terminal (a pty made by util-linux `script`); its output, as the terminal got it. */
  async function onTerminal(args: string[], env: Record<string, string> = {}): Promise<string> {
    const command = [process.execPath, CLI, ...args, "--url", server.url].map((word) => `'${word}'`).join(" ");
    const childEnv: Record<string, string> = { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/", TERM: "xterm-256color", ...env };
    const proc = Bun.spawn(["script", "-q", "-e", "-c", command, "/dev/null"], { env: childEnv, stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    const [stdout, code] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
    expect(code).toBe(0);
    return stdout;
  }

  test("on a terminal the tables are coloured; NO_COLOR turns it off", async () => {
    const coloured = await onTerminal(["workers", "list"]);
    expect(coloured).toContain(`${ANSI}32midle${ANSI}39m`);
    expect(coloured).toContain(`${ANSI}1mWORKER${ANSI}22m`);
    const plain = await onTerminal(["workers", "list"], { NO_COLOR: "1" });
    expect(plain).not.toContain(ANSI);
    expect(plain).toMatch(/^r1\s+idle\s+echo/m);
  });
});

describe("help, version, groups", () => {
  test("bare group commands list their subcommands; nested usage lines carry the program name", async () => {
    const bare = await runCli(["workers"]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain("USAGE yoi-runtime workers list|create|show|stop|cancel|restore|delete");
    for (const name of ["list", "create", "show", "stop", "cancel", "restore", "delete"]) expect(bare.stdout).toMatch(new RegExp(`^\\s+${name}\\s+\\S`, "m"));
    expect((await runCli(["workers", "list", "--help"])).stdout).toContain("USAGE yoi-runtime workers list [OPTIONS]");
  });

  test("help [command] is --help of that command; version is --version", async () => {
    expect(await runCli(["help", "workers", "list"])).toEqual(await runCli(["workers", "list", "--help"]));
    expect(await runCli(["help"])).toEqual(await runCli(["--help"]));
    const version = await runCli(["version"]);
    expect(version).toEqual(await runCli(["--version"]));
    expect(version.stdout).toMatch(/^\d+\.\d+\.\d+\S*\n$/);
    const top = (await runCli(["--help"])).stdout;
    for (const name of ["status", "profiles", "transcript", "runs", "run", "events", "diagnostics", "version", "help", "completion"]) {
      expect(top).toMatch(new RegExp(`^\\s+${name}\\s+\\S`, "m"));
    }
    expect(top).not.toContain("__complete");
  });
});
