#!/usr/bin/env bun
/**
 * Long fuzz run of test/server/fuzz.test.ts: every property `--runs` times (default 20000), for
 * one seed or several in a row. Not part of CI; the test file's bounded defaults are.
 *
 *   bun scripts/bench/fuzz.ts                       # 20000 runs per property, the file's seed
 *   bun scripts/bench/fuzz.ts --runs 5000 --seed 7 --seeds 4   # seeds 7, 8, 9, 10
 *
 * The same by hand: `YOI_FUZZ_RUNS=20000 YOI_FUZZ_SEED=7 bun test test/server/fuzz.test.ts`.
 * A failure prints fast-check's counterexample, seed and path; rerun that seed to reproduce it.
 */
import { resolve } from "node:path";

function option(name: string, fallback: number | null): number | null {
  const index = process.argv.indexOf(`--${name}`);
  if (index < 0) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isSafeInteger(value) || value < 0) {
    console.error(`--${name} needs a non-negative integer`);
    process.exit(2);
  }
  return value;
}

for (const arg of process.argv.slice(2)) {
  if (arg.startsWith("--") && !["--runs", "--seed", "--seeds"].includes(arg)) {
    console.error(`unknown option ${arg}; use --runs N, --seed S, --seeds K`);
    process.exit(2);
  }
}

const runs = option("runs", 20_000)!;
const firstSeed = option("seed", null);
const seeds = Math.max(1, option("seeds", 1)!);
const root = resolve(import.meta.dir, "..", "..");
const results: { seed: string; ok: boolean; seconds: number }[] = [];

for (let i = 0; i < seeds; i++) {
  const seed = firstSeed === null ? (i === 0 ? null : i) : firstSeed + i;
  const env: Record<string, string> = { ...(process.env as Record<string, string>), YOI_FUZZ_RUNS: String(runs) };
  if (seed !== null) env.YOI_FUZZ_SEED = String(seed);
  else delete env.YOI_FUZZ_SEED;
  const label = seed === null ? "default" : String(seed);
  console.log(`\n## fuzz: ${runs} runs per property, seed ${label}\n`);
  const started = performance.now();
  const child = Bun.spawn([process.execPath, "test", "--timeout", String(6 * 3_600_000), "test/server/fuzz.test.ts"], {
    cwd: root,
    env,
    stdout: "inherit",
    stderr: "inherit",
  });
  const code = await child.exited;
  results.push({ seed: label, ok: code === 0, seconds: Math.round((performance.now() - started) / 1000) });
}

console.log("\n| seed | runs per property | result | seconds |\n|---|---|---|---|");
for (const result of results) console.log(`| ${result.seed} | ${runs} | ${result.ok ? "pass" : "FAIL"} | ${result.seconds} |`);
process.exit(results.every((result) => result.ok) ? 0 : 1);
