import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { createClient, unwrap } from "../../src/client/index.ts";
import { FAKE_AGENT } from "../execution/acp-helpers.ts";
import { cleanScratch, runCli, scratchDir, spawnCli, startServer, until, type Server } from "./helpers.ts";

/**
 * An ACP agent's permission request (policy `ask`) in the CLI: `chat` shows it with numbered
 * options and the next line answers it; `send --wait` shows it on stderr (nobody answers, so the
 * runtime's permission timeout rejects it).
 */
let server: Server;

beforeAll(async () => {
  const dir = scratchDir();
  writeFileSync(
    join(dir, "c.toml"),
    ["agent", "quick"]
      .map(
        (name) =>
          `[profiles.${name}]\nbackend = "acp"\ncommand = [${JSON.stringify(process.execPath)}, ${JSON.stringify(FAKE_AGENT)}]\n` +
          // The user of `chat` has all the time a loaded machine needs; `send --wait` waits out the timeout.
          `permission = "ask"\npermission_timeout_s = ${name === "agent" ? 120 : 1}\n`,
      )
      .join("\n"),
  );
  server = await startServer(["serve", "--store", "memory", "--config", "c.toml"], { cwd: dir });
  const api = createClient({ url: server.url });
  await unwrap(api.v1.workers.post({ worker_id: "p1", profile: { kind: "named", value: "agent" } }));
  await unwrap(api.v1.workers.post({ worker_id: "p2", profile: { kind: "named", value: "quick" } }));
});

afterAll(async () => {
  await server?.stop();
  cleanScratch();
});

const ASK = `[{"ask": {"id": "t1", "title": "remove build/", "kind": "delete"}}]`;

describe("permission requests", () => {
  test("chat: the request is shown with numbered options; the next line answers it", async () => {
    const chat = spawnCli(["chat", "p1", "--url", server.url], { stdin: true });
    chat.write(`${ASK}\n`);
    await until(() => chat.stdout().includes("choose 1-"), "the permission prompt", 30_000);
    expect(chat.stdout()).toContain('[permission] the agent asks to delete "remove build/"\n  1) ');
    chat.write("1\n");
    await until(() => chat.stdout().includes("permission: "), "the agent's answer", 30_000);
    chat.endInput();
    const result = await chat.exited;
    expect(result.code).toBe(0);
    // The first option (allow) reached the agent, not the timeout's answer (a reject).
    expect(result.stdout).toContain("permission: allow");
  });

  test("send --wait: the request is shown on stderr; the runtime's timeout answers it", async () => {
    const result = await runCli(["send", "p2", ASK, "--wait", "--url", server.url], { killAfterMs: 30_000 });
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('[permission] the agent asks to delete "remove build/"');
    // The timeout rejects the request on the user's behalf.
    expect(result.stdout).toContain("permission: deny");
  });
});
