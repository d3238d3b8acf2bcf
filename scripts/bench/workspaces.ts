/**
 * Workspaces benchmark (issue 11). Not a test: prints a markdown table.
 *
 *   bun scripts/bench/workspaces.ts [--files 10000] [--samples 30] [--concurrent 32] [--json FILE]
 *
 * A repository of `--files` files (one commit) in a scratch directory. Taking turns, sample by
 * sample: `Runtime.createWorker` with one workspace ref (fs store, durability fsync: git worktree
 * add into staging, the durable create, the move into workers/<id>/work) and `git worktree add -b`
 * alone into a fresh directory, the floor any create-with-worktree pays; p50/p99 of each and the
 * ratio of the medians. Then `--concurrent` creates issued at once (serialised per repository by
 * the runtime): creates/s, beside `git worktree add` run back to back for as many worktrees.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FsStore, Runtime, builtinBackends, openGitWorkspaces } from "../../src/index.ts";
import { fmt, median, percentile, writeFigures, type Figure } from "./lib.ts";

const { values: args } = parseArgs({
  options: {
    files: { type: "string", default: "10000" },
    samples: { type: "string", default: "30" },
    concurrent: { type: "string", default: "32" },
    json: { type: "string" },
  },
});
const FILES = Number(args.files);
const SAMPLES = Number(args.samples);
const CONCURRENT = Number(args.concurrent);

const GIT_ENV = { ...process.env, GIT_AUTHOR_NAME: "b", GIT_AUTHOR_EMAIL: "b@b", GIT_COMMITTER_NAME: "b", GIT_COMMITTER_EMAIL: "b@b", LC_ALL: "C" };

function git(dir: string, ...argv: string[]): void {
  const result = Bun.spawnSync(["git", "-C", dir, ...argv], { env: GIT_ENV, stdout: "ignore", stderr: "pipe" });
  if (result.exitCode !== 0) throw new Error(`git ${argv.join(" ")}: ${result.stderr.toString()}`);
}

async function timed(action: () => Promise<unknown> | unknown): Promise<number> {
  const start = performance.now();
  await action();
  return performance.now() - start;
}

const scratch = mkdtempSync(join(tmpdir(), "yoi-bench-ws-"));
try {
  const repo = join(scratch, "repo");
  mkdirSync(repo);
  git(repo, "init", "--quiet", "-b", "main");
  for (let i = 0; i < FILES; i++) {
    const dir = join(repo, `d${Math.floor(i / 250)}`);
    if (i % 250 === 0) mkdirSync(dir);
    writeFileSync(join(dir, `f${i}.txt`), `file ${i}\n`);
  }
  git(repo, "add", "-A");
  git(repo, "commit", "--quiet", "-m", "files");

  const workspaces = await openGitWorkspaces({ app: { repo } }, { root: join(scratch, "data", "workspaces") });
  const runtime = await Runtime.open({ store: new FsStore({ root: join(scratch, "data") }), backends: builtinBackends, workspaces });
  const plainDir = join(scratch, "plain");
  mkdirSync(plainDir);

  const create: number[] = [];
  const plain: number[] = [];
  for (let i = 0; i < SAMPLES; i++) {
    const runtimeTurn = () => timed(() => runtime.createWorker({ worker_id: `s${i}`, workspace_refs: [{ name: "app", reference: "" }] }));
    const plainTurn = () => timed(() => git(repo, "worktree", "add", "--quiet", "-b", `plain/${i}`, join(plainDir, `p${i}`), "main"));
    if (i % 2 === 0) {
      create.push(await runtimeTurn());
      plain.push(await plainTurn());
    } else {
      plain.push(await plainTurn());
      create.push(await runtimeTurn());
    }
  }

  const ids = Array.from({ length: CONCURRENT }, (_, i) => `c${i}`);
  const concurrentMs = await timed(() =>
    Promise.all(ids.map((id) => runtime.createWorker({ worker_id: id, workspace_refs: [{ name: "app", reference: "" }] }))),
  );
  const serialPlainMs = await timed(() => {
    for (let i = 0; i < CONCURRENT; i++) git(repo, "worktree", "add", "--quiet", "-b", `plain/c${i}`, join(plainDir, `c${i}`), "main");
  });
  await runtime.close();

  const sortedCreate = [...create].sort((a, b) => a - b);
  const sortedPlain = [...plain].sort((a, b) => a - b);
  const figures: Figure[] = [
    {
      case: "workspaces",
      name: `create with worktree p50 (${fmt(FILES)} files)`,
      value: median(create),
      unit: "ms",
      baseline: { name: "git worktree add p50", value: median(plain), unit: "ms" },
      ratio: median(create) / median(plain),
    },
    {
      case: "workspaces",
      name: "create with worktree p99",
      value: percentile(sortedCreate, 99),
      unit: "ms",
      baseline: { name: "git worktree add p99", value: percentile(sortedPlain, 99), unit: "ms" },
      ratio: percentile(sortedCreate, 99) / percentile(sortedPlain, 99),
    },
    {
      case: "workspaces",
      name: `concurrent creates (${CONCURRENT} at once)`,
      value: (CONCURRENT * 1000) / concurrentMs,
      unit: "creates/s",
      baseline: { name: "git worktree add back to back", value: (CONCURRENT * 1000) / serialPlainMs, unit: "worktrees/s" },
      ratio: serialPlainMs / concurrentMs,
    },
  ];
  console.log("| figure | value | baseline | ratio |\n|---|---|---|---|");
  for (const f of figures) {
    console.log(`| ${f.name} | ${fmt(f.value, 1)} ${f.unit} | ${f.baseline!.name}: ${fmt(f.baseline!.value, 1)} ${f.baseline!.unit} | ${fmt(f.ratio!, 2)} |`);
  }
  writeFigures(args.json, "workspaces.ts", figures, { files: FILES, samples: SAMPLES });
} finally {
  rmSync(scratch, { recursive: true, force: true });
}
