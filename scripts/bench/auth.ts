/**
 * What authentication costs on the hottest read: requests/s on `GET /v1/workers/:id` with no
 * auth, with the static token, and with a signed token (JWT; cached verification, expiry still
 * enforced), measured in the same run in interleaved rounds so machine noise hits all three
 * alike. The static and JWT rows hit the same server (both configured); the no-auth row a second
 * one started the same way. Issue 15's bar: JWT ≥ 0.9 × static.
 *
 *   bun scripts/bench/auth.ts [--seconds 2] [--rounds 5] [--connections 32] [--generator wrk|oha|bun] [--out FILE]
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { exportJWK, generateKeyPair, SignJWT } from "jose";
import { fmt, median, ratioOfRounds, serveCommand, spawnServer, writeFigures, type Figure } from "./lib.ts";
import { availableGenerators, runLoad, type Generator } from "./load.ts";

const { values } = parseArgs({
  options: {
    seconds: { type: "string", default: "2" },
    rounds: { type: "string", default: "5" },
    connections: { type: "string", default: "32" },
    generator: { type: "string" },
    out: { type: "string" },
  },
});
const seconds = Number(values.seconds);
const rounds = Number(values.rounds);
const connections = Number(values.connections);
const generator = (values.generator ?? availableGenerators()[0]) as Generator;

const RUNTIME_ID = "rt-bench-auth";
const STATIC = "bench-static-token";
const dir = mkdtempSync(join(tmpdir(), "yoi-bench-auth-"));

const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
writeFileSync(join(dir, "jwks.json"), JSON.stringify({ keys: [{ ...(await exportJWK(publicKey)), kid: "bench", alg: "EdDSA" }] }));
writeFileSync(join(dir, "auth.toml"), `[auth]\ntoken_env = "BENCH_TOKEN"\npublic_keys_file = "${join(dir, "jwks.json")}"\n`);
const jwt = await new SignJWT({ scope: "workers:read workers:write" })
  .setProtectedHeader({ alg: "EdDSA", kid: "bench" })
  .setAudience(RUNTIME_ID)
  .setIssuedAt()
  .setExpirationTime("30m")
  .sign(privateKey);

const common = ["--store", "memory", "--runtime-id", RUNTIME_ID];
const secured = await spawnServer(serveCommand("bun", [...common, "--config", join(dir, "auth.toml")]), { env: { BENCH_TOKEN: STATIC } });
const open = await spawnServer(serveCommand("bun", common));

try {
  for (const server of [secured, open]) {
    const created = await fetch(`${server.url}/v1/workers`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${STATIC}` },
      body: JSON.stringify({ worker_id: "w1" }),
    });
    if (created.status !== 201) throw new Error(`create answered ${created.status}`);
  }
  const rows: { name: string; url: string; headers: Record<string, string> }[] = [
    { name: "no auth", url: `${open.url}/v1/workers/w1`, headers: {} },
    { name: "static token", url: `${secured.url}/v1/workers/w1`, headers: { authorization: `Bearer ${STATIC}` } },
    { name: "JWT (EdDSA)", url: `${secured.url}/v1/workers/w1`, headers: { authorization: `Bearer ${jwt}` } },
  ];
  // Warm-up: JIT, and the JWT's first (uncached) verification.
  for (const row of rows) await runLoad(generator, { url: row.url, headers: row.headers, connections, seconds: 1 });
  const rps = new Map<string, number[]>(rows.map((row) => [row.name, []]));
  for (let round = 0; round < rounds; round++) {
    for (const row of rows) {
      const result = await runLoad(generator, { url: row.url, headers: row.headers, connections, seconds });
      if (result.non2xx > 0 || result.errors > 0) throw new Error(`${row.name}: ${result.non2xx} non-2xx, ${result.errors} errors`);
      rps.get(row.name)!.push(result.rps);
    }
  }
  const staticRounds = rps.get("static token")!;
  const figures: Figure[] = rows.map((row) => {
    const rounds = rps.get(row.name)!;
    const ratio = ratioOfRounds(rounds, staticRounds);
    return {
      case: "auth",
      name: `GET /v1/workers/:id, ${row.name}`,
      value: median(rounds),
      unit: "req/s",
      rounds,
      baseline: { name: "static token", value: median(staticRounds), unit: "req/s", rounds: staticRounds },
      ratio,
      ...(row.name.startsWith("JWT") ? { target: "≥ 0.9× static", met: ratio >= 0.9 } : {}),
    };
  });
  console.log(`auth bench: ${generator}, ${connections} connections, ${rounds} rounds × ${seconds} s; medians, ratio = median of per-round ratios`);
  for (const figure of figures) {
    console.log(`  ${figure.name.padEnd(36)} ${fmt(figure.value).padStart(8)} req/s  ${fmt(figure.ratio!, 3)}× static${figure.target ? ` (bar ${figure.target}: ${figure.met ? "met" : "NOT met"})` : ""}`);
  }
  writeFigures(values.out, "auth.ts", figures, { generator, connections, rounds, seconds });
} finally {
  await Promise.all([secured.stop(), open.stop()]);
  rmSync(dir, { recursive: true, force: true });
}
