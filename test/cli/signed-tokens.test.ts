import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseExposition } from "../server/exposition-parser.ts";
import { CLI, cleanScratch, jsonLines, runCli, scratchDir, startServer } from "./helpers.ts";

afterAll(() => cleanScratch());

const STATIC = "cli-static-token-value";
const RUNTIME_ID = "rt-cli";

async function keygen(dir: string, kid: string): Promise<void> {
  const result = await runCli(["keygen", "--out", dir, "--kid", kid]);
  expect(result.code).toBe(0);
}

async function mint(keyDir: string, scope: string, extra: string[] = []): Promise<string> {
  const result = await runCli(["token", "--key", join(keyDir, "private.jwk"), "--aud", RUNTIME_ID, "--scope", scope, "--ttl", "10m", ...extra]);
  if (result.code !== 0) throw new Error(`token failed: ${result.stderr}`);
  const token = result.stdout.trim();
  expect(token.split(".")).toHaveLength(3);
  return token;
}

/** Replaces a file the way deploy tools do: write aside, rename over (a new inode). */
function replaceFile(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

async function status(url: string, token: string | null): Promise<number> {
  const response = await fetch(url, { headers: token === null ? {} : { authorization: `Bearer ${token}` } });
  await response.arrayBuffer();
  return response.status;
}

async function eventually(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("serve with signed tokens", () => {
  test("keygen/token, scopes, key rotation by rewriting the JWKS, SIGHUP, --metrics-bind, --token-command; no token in any log line", async () => {
    const dir = scratchDir();
    const k1 = join(dir, "k1");
    const k2 = join(dir, "k2");
    await keygen(k1, "k1");
    await keygen(k2, "k2");
    const again = await runCli(["keygen", "--out", k1]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain("--force");

    const jwks = join(dir, "jwks.json");
    const k1Set = readFileSync(join(k1, "jwks.json"), "utf8");
    replaceFile(jwks, k1Set);
    writeFileSync(
      join(dir, "runtime.toml"),
      `runtime_id = "${RUNTIME_ID}"\n[auth]\ntoken_env = "YOI_TEST_TOKEN"\npublic_keys_file = "${jwks}"\nclock_skew_s = 5\n`,
    );
    const server = await startServer(
      ["serve", "--store", "memory", "--config", join(dir, "runtime.toml"), "--log-level", "debug", "--log-format", "json", "--metrics-bind", "127.0.0.1:0"],
      { cwd: dir, env: { YOI_TEST_TOKEN: STATIC } },
    );
    const tokens: string[] = [STATIC];
    try {
      const listening = jsonLines(server.lines()).find((line) => String(line.message ?? line.msg ?? "").includes("listening on"))!;
      expect(JSON.stringify(listening)).toContain("signed tokens");
      const metricsUrl = /"metrics_url":"([^"]+)"/.exec(JSON.stringify(listening))![1]!;

      const reader = await mint(k1, "workers:read");
      const admin = await mint(k1, "runtime:read workers:read workers:write runs:write events:read metrics:read");
      tokens.push(reader, admin);
      const workers = `${server.url}/v1/workers`;
      expect(await status(workers, reader)).toBe(200);
      expect(await status(`${server.url}/v1/runtime`, reader)).toBe(403);
      expect(await status(workers, null)).toBe(401);
      expect(await status(workers, STATIC)).toBe(200);
      expect(await status(`${server.url}/readyz`, null)).toBe(200);
      expect(await status(`${server.url}/metrics`, admin)).toBe(200);
      expect(await status(`${server.url}/metrics`, reader)).toBe(403);

      // The metrics listener needs no token and serves nothing else.
      const scraped = await fetch(metricsUrl);
      expect(scraped.status).toBe(200);
      const metrics = parseExposition(await scraped.text());
      expect(metrics.value("yoi_http_requests_total", { method: "GET", route: "/v1/workers", status: "200" })).toBe(2);
      expect(await status(metricsUrl.replace(/\/metrics$/, "/v1/workers"), null)).toBe(404);

      // A client command renews its token through --token-command.
      const tokenCommand = `${process.execPath} ${CLI} token --key ${join(k1, "private.jwk")} --aud ${RUNTIME_ID} --scope workers:read --ttl 5m`;
      const listed = await runCli(["workers", "list", "--url", server.url, "--token-command", tokenCommand, "--json"]);
      expect(listed.code).toBe(0);
      expect(JSON.parse(listed.stdout)).toEqual([]);
      const failing = await runCli(["workers", "list", "--url", server.url, "--token-command", "exit 3"]);
      expect(failing.code).toBe(1);
      expect(failing.stderr).toContain("--token-command failed (exit status 3)");

      // Rotation: the file now holds only k2's key; k1's tokens stop working, k2's start.
      replaceFile(jwks, readFileSync(join(k2, "jwks.json"), "utf8"));
      const rotated = await mint(k2, "workers:read");
      tokens.push(rotated);
      await eventually(async () => (await status(workers, reader)) === 401, "k1's token refused after rotation");
      expect(await status(workers, rotated)).toBe(200);

      // An unusable file keeps the keys in force and is logged once.
      replaceFile(jwks, "{ not json");
      await eventually(async () => server.lines().some((line) => line.includes("public keys file is not usable")), "the bad file logged");
      expect(await status(workers, rotated)).toBe(200);

      // SIGHUP re-reads the file at once (k1 back).
      writeFileSync(jwks, k1Set);
      server.proc.kill("SIGHUP");
      await eventually(async () => (await status(workers, reader)) === 200, "k1's token accepted after SIGHUP");
      expect(server.lines().filter((line) => line.includes("public keys file is not usable"))).toHaveLength(1);
    } finally {
      const stopped = await server.stop();
      expect(stopped.code).toBe(0);
      const everything = `${stopped.stdout}\n${stopped.stderr}`;
      for (const token of tokens) expect(everything).not.toContain(token);
    }
  });

  test("config refuses an unusable keys file, and a non-loopback metrics bind (exit 2)", async () => {
    const dir = scratchDir();
    writeFileSync(join(dir, "bad.json"), '{"keys": [{"kty": "oct", "k": "c2VjcmV0"}]}');
    writeFileSync(join(dir, "c.toml"), `[auth]\npublic_keys_file = "bad.json"\n`);
    const refused = await runCli(["config", "--config", join(dir, "c.toml")], { cwd: dir });
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain("auth.public_keys_file");
    expect(refused.stderr).toContain("secret key material");
    const remote = await runCli(["config", "--metrics-bind", "0.0.0.0:9464"], { cwd: dir });
    expect(remote.code).toBe(2);
    expect(remote.stderr).toContain("--metrics-bind");
  });
});
