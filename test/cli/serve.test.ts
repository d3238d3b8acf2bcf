import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { until } from "../support/wait.ts";
import { CLI, REPO, cleanScratch, jsonLines, runCli, scratchDir, startServer } from "./helpers.ts";

afterAll(cleanScratch);

const json = (body: unknown): RequestInit => ({
  method: "POST",
  headers: { "content-type": "application/json" },
  body: JSON.stringify(body),
});

describe("serve (a real process)", () => {
  test("logs the bound address, serves the API, and exits 0 on SIGTERM", async () => {
    const server = await startServer(["--store", "memory", "--runtime-id", "rt-cli"]);
    const listening = jsonLines(server.lines()).find((line) => String(line.msg).startsWith("listening on "))!;
    expect(listening).toMatchObject({ level: "info", url: server.url, runtime_id: "rt-cli", store: "memory", auth: "none" });
    expect(typeof listening.time).toBe("string");
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(server.url.endsWith(":0")).toBe(false);

    const health = await fetch(`${server.url}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ ok: true });

    const created = await fetch(`${server.url}/v1/workers`, json({ worker_id: "w1" }));
    expect(created.status).toBe(201);
    const input = await fetch(`${server.url}/v1/workers/w1/input?wait=10`, json({ kind: "user", content: "hello" }));
    expect(input.status).toBe(200);
    expect(((await input.json()) as any).run.status).toBe("completed");
    const transcript = (await (await fetch(`${server.url}/v1/workers/w1/transcript`)).json()) as any;
    expect(transcript.transcript.items.map((item: any) => [item.role, item.content])).toEqual([
      ["user", "hello"],
      ["assistant", "hello"],
    ]);

    const result = await server.stop("SIGTERM");
    expect(result.code).toBe(0);
    const messages = jsonLines(server.lines()).map((line) => line.msg);
    expect(messages).toContain("shutting down");
    expect(messages.at(-1)).toBe("stopped");
    expect(result.stdout).toBe("");
  });

  test("SIGINT also shuts down cleanly", async () => {
    const server = await startServer(["--store", "memory"]);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await server.stop("SIGINT")).code).toBe(0);
  });

  test("shutdown interrupts active runs, answers waiting requests and cuts event streams", async () => {
    const cwd = scratchDir();
    writeFileSync(join(cwd, "c.toml"), `[profiles.stuck]\nbackend = "echo"\ndelay_ms = 3600000\n`);
    const server = await startServer(["--store", "memory", "--config", "c.toml"], { cwd });
    await fetch(`${server.url}/v1/workers`, json({ worker_id: "w", profile: { kind: "named", value: "stuck" } }));
    const waiting = fetch(`${server.url}/v1/workers/w/input?wait=120`, json({ kind: "user", content: "never ends" }));
    const stream = await fetch(`${server.url}/v1/events/stream`);
    expect(stream.status).toBe(200);
    // The run is active once the worker reports it running.
    const status = async () => ((await (await fetch(`${server.url}/v1/workers/w`)).json()) as any).worker.status;
    await until(async () => (await status()) === "running", "the run to start");
    const stopped = server.stop("SIGTERM");
    const answer = await waiting;
    expect(answer.status).toBe(200);
    expect(((await answer.json()) as any).run.status).toBe("interrupted");
    // The stream ends (closed by the server) rather than hanging the shutdown.
    await stream.text().catch(() => "");
    expect((await stopped).code).toBe(0);
  });

  test("with a token: 401 without it; neither the token nor input content is ever logged", async () => {
    const token = "tok-7f3e2a91-never-log-me";
    const content = "input-content-that-must-not-appear-5b8c";
    const server = await startServer(["--store", "memory", "--token-env", "YOI_TEST_TOKEN", "--log-level", "debug"], {
      env: { YOI_TEST_TOKEN: token },
    });
    expect((await fetch(`${server.url}/v1/runtime`)).status).toBe(401);
    expect((await fetch(`${server.url}/v1/runtime`, { headers: { authorization: `Bearer ${token}x` } })).status).toBe(401);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    const auth = { authorization: `Bearer ${token}` };
    expect((await fetch(`${server.url}/v1/runtime`, { headers: auth })).status).toBe(200);
    const create = await fetch(`${server.url}/v1/workers`, { ...json({ worker_id: "w" }), headers: { ...auth, "content-type": "application/json" } });
    expect(create.status).toBe(201);
    const input = await fetch(`${server.url}/v1/workers/w/input?wait=10`, {
      ...json({ kind: "user", content }),
      headers: { ...auth, "content-type": "application/json" },
    });
    expect(input.status).toBe(200);
    // A failing request with the content in it (unknown field) is logged (at debug: a 4xx).
    const bad = await fetch(`${server.url}/v1/workers/w/input`, {
      ...json({ kind: "user", content, extra: content }),
      headers: { ...auth, "content-type": "application/json" },
    });
    expect(bad.status).toBe(400);
    const result = await server.stop();
    expect(result.code).toBe(0);
    const lines = jsonLines(server.lines());
    expect(lines.find((line) => String(line.msg).startsWith("listening on"))!.auth).toBe("bearer token");
    // Debug logging was on: requests were logged, but not what they carried.
    expect(lines.some((line) => line.level === "debug")).toBe(true);
    expect(lines.some((line) => line.level === "debug" && line.msg === "request failed" && line.code === "invalid_request")).toBe(true);
    expect(result.stderr).not.toContain(token);
    expect(result.stderr).not.toContain(content);
    expect(result.stdout).toBe("");
  });

  test("pretty logs are human lines with the address", async () => {
    const server = await startServer(["--store", "memory", "--log-format", "pretty"]);
    const line = server.lines().find((text) => text.includes("listening on"))!;
    expect(() => JSON.parse(line)).toThrow();
    expect(line).toContain(server.url);
    expect((await server.stop()).code).toBe(0);
  });

  test("--log-level silent logs nothing", async () => {
    const cwd = scratchDir();
    // With nothing logged, the address cannot be read from the log: ask for a fixed free port.
    const probe = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response() });
    const port = probe.port;
    await probe.stop(true);
    const proc = Bun.spawn([process.execPath, CLI, "--store", "memory", "--log-level", "silent", "--bind", `127.0.0.1:${port}`], {
      cwd,
      stdout: "pipe",
      stderr: "pipe",
    });
    const health = () => fetch(`http://127.0.0.1:${port}/healthz`).then((r) => r.ok, () => false);
    await until(health, "the server to answer /healthz");
    expect(await health()).toBe(true);
    proc.kill("SIGTERM");
    expect(await proc.exited).toBe(0);
    expect(await new Response(proc.stderr).text()).toBe("");
  });

  test("a port in use: one human sentence naming the flag and address, exit 1, in every log format", async () => {
    const first = await startServer(["--store", "memory"]);
    const bind = first.url.replace("http://", "");
    for (const format of ["json", "pretty"]) {
      const second = await runCli(["--store", "memory", "--bind", bind, "--log-format", format]);
      expect(second).toEqual({
        code: 1,
        stdout: "",
        stderr: `yoi-runtime: --bind / server.bind: cannot listen on ${bind}: address already in use\n`,
      });
    }
    expect((await first.stop()).code).toBe(0);
  });

  test("binds IPv6 loopback", async () => {
    const server = await startServer(["--store", "memory", "--bind", "[::1]:0"]);
    expect(server.url).toMatch(/^http:\/\/\[::1\]:\d+$/);
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    expect((await server.stop()).code).toBe(0);
  });
});

describe("serve with the fs store (the default)", () => {
  test("keeps its data under ./.yoi/runtime and restores it after a restart, with the same runtime id", async () => {
    const cwd = scratchDir();
    const first = await startServer([], { cwd });
    const listening = jsonLines(first.lines()).find((line) => String(line.msg).startsWith("listening on"))!;
    expect(listening).toMatchObject({ store: "fs", data_dir: join(cwd, ".yoi/runtime") });
    expect((await fetch(`${first.url}/v1/workers`, json({ worker_id: "kept" }))).status).toBe(201);
    const input = await fetch(`${first.url}/v1/workers/kept/input?wait=10`, json({ kind: "user", content: "remember me" }));
    expect(((await input.json()) as any).run.status).toBe("completed");
    expect((await first.stop()).code).toBe(0);
    expect(existsSync(join(cwd, ".yoi/runtime/runtime.json"))).toBe(true);
    expect(existsSync(join(cwd, ".yoi/runtime/LOCK"))).toBe(false);

    const second = await startServer([], { cwd });
    const again = jsonLines(second.lines()).find((line) => String(line.msg).startsWith("listening on"))!;
    expect(again.runtime_id).toBe(listening.runtime_id);
    const transcript = (await (await fetch(`${second.url}/v1/workers/kept/transcript`)).json()) as any;
    expect(transcript.transcript.items.map((item: any) => item.content)).toEqual(["remember me", "remember me"]);
    expect((await second.stop()).code).toBe(0);
  });

  test("a store locked by a running process: one sentence naming --data-dir and the owner, exit 1", async () => {
    const cwd = scratchDir();
    const owner = await startServer(["--data-dir", "data"], { cwd });
    const second = await runCli(["--bind", "127.0.0.1:0", "--data-dir", "data", "--log-format", "json"], { cwd });
    expect({ code: second.code, stdout: second.stdout }).toEqual({ code: 1, stdout: "" });
    expect(second.stderr).toBe(
      `yoi-runtime: --data-dir / store.root: the store is locked: process ${owner.proc.pid} owns it (${join(cwd, "data", "LOCK")}); stop that process or use another data directory\n`,
    );
    expect((await owner.stop()).code).toBe(0);
  });

  test("a store of another runtime id: one sentence naming --runtime-id and both ids, exit 1", async () => {
    const cwd = scratchDir();
    expect((await (await startServer(["--runtime-id", "rt-first"], { cwd })).stop()).code).toBe(0);
    const other = await runCli(["--bind", "127.0.0.1:0", "--runtime-id", "rt-second"], { cwd });
    expect(other).toEqual({
      code: 1,
      stdout: "",
      stderr: `yoi-runtime: --runtime-id / runtime_id: the store at ${join(cwd, ".yoi/runtime")} belongs to runtime rt-first, not rt-second; use that runtime id or another data directory\n`,
    });
  });

  test("a data directory that cannot be one: exit 2 naming --data-dir, no errno text", async () => {
    const cwd = scratchDir();
    writeFileSync(join(cwd, "file"), "not a directory\n");
    const cases: Array<[string, string]> = [
      [join(cwd, "file"), `${join(cwd, "file")} is a file, not a directory`],
      [join(cwd, "file", "below"), `cannot create ${join(cwd, "file", "below")}: ${join(cwd, "file")} is a file, not a directory`],
    ];
    for (const [dir, why] of cases) {
      for (const format of ["json", "pretty"]) {
        const result = await runCli(["--bind", "127.0.0.1:0", "--data-dir", dir, "--log-format", format], { cwd });
        expect(result).toEqual({ code: 2, stdout: "", stderr: `yoi-runtime: --data-dir / store.root: ${why}\n` });
      }
    }
  });
});

const deno = join(REPO, "node_modules/.bin/deno");

describe.skipIf(!existsSync(deno))("serve under Deno (`deno run -A cli.ts`)", () => {
  test("serves the same API and exits 0 on SIGTERM", async () => {
    const server = await startServer(["serve", "--store", "memory"], { command: [deno, "run", "-A", CLI] });
    expect(await (await fetch(`${server.url}/healthz`)).json()).toEqual({ ok: true });
    expect((await fetch(`${server.url}/v1/workers`, json({ worker_id: "d" }))).status).toBe(201);
    const input = await fetch(`${server.url}/v1/workers/d/input?wait=10`, json({ kind: "user", content: "from deno" }));
    expect(((await input.json()) as any).run.status).toBe("completed");
    const transcript = (await (await fetch(`${server.url}/v1/workers/d/transcript?tail=1`)).json()) as any;
    expect(transcript.transcript.items[0].content).toBe("from deno");
    expect((await fetch(`${server.url}/v1/nope`)).status).toBe(404);
    expect((await server.stop("SIGTERM")).code).toBe(0);
  });
});
