/**
 * How long the fs store takes to recover in process after a full disk (issue 12), by store size.
 * Not a test. For each size: N workers with one input each, then every journal write fails
 * (ENOSPC) for one input, the fault is lifted, and the next input is sent until it is accepted.
 * Reports the store's own `recovery_ms` (take the failed batch back, cut the journal, probe,
 * reopen the session) and the wall time from lifting the fault to the first acknowledged input
 * (which includes the probe backoff: 100 ms doubling to 2 s).
 *
 *   bun scripts/bench/store-recovery.ts [--sizes 100,1000,5000]
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { FsStore, Runtime, RuntimeError, builtinBackends, type RuntimeLogger } from "../../src/index.ts";
import { FaultyFs } from "../../test/support/faulty-fs.ts";

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { sizes: { type: "string", default: "100,1000,5000" } }, strict: true });
const sizes = values.sizes!.split(",").map(Number);

async function measure(workers: number): Promise<{ recovery_ms: number; lifted_to_ack_ms: number }> {
  const root = mkdtempSync(join(tmpdir(), "yoi-bench-recovery-"));
  let recovery_ms = Number.NaN;
  const logger: RuntimeLogger = {
    debug() {},
    info(message, fields) {
      if (message.startsWith("the store writes again")) recovery_ms = Number(fields?.recovery_ms);
    },
    warn() {},
    error() {},
  };
  const faulty = new FaultyFs();
  const runtime = await Runtime.open({ store: new FsStore({ root, fs: faulty.fs, logger }), backends: builtinBackends });
  try {
    for (let i = 0; i < workers; i++) {
      await runtime.createWorker({ worker_id: `w-${i}` });
      await runtime.sendInput(`w-${i}`, { kind: "system", content: "a line of context" });
    }
    const fault = faulty.fail({ op: "write", path: "/wal/", code: "ENOSPC" });
    await runtime.sendInput("w-0", { kind: "system", content: "refused" }).catch(() => undefined);
    fault.lift();
    const lifted = performance.now();
    for (;;) {
      try {
        await runtime.sendInput("w-0", { kind: "system", content: "accepted" });
        break;
      } catch (error) {
        if (!(error instanceof RuntimeError) || error.code !== "runtime_unavailable") throw error;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    }
    return { recovery_ms, lifted_to_ack_ms: performance.now() - lifted };
  } finally {
    await runtime.close();
    rmSync(root, { recursive: true, force: true });
  }
}

console.log(`\nFsStore recovery after ENOSPC — ${new Date().toISOString()}, Bun ${Bun.version}, ${navigator.hardwareConcurrency} CPUs\n`);
console.log("| workers | recovery_ms (store) | lift → first ack, ms |");
console.log("|---|---|---|");
for (const size of sizes) {
  const { recovery_ms, lifted_to_ack_ms } = await measure(size);
  console.log(`| ${size} | ${recovery_ms.toFixed(1)} | ${lifted_to_ack_ms.toFixed(1)} |`);
}
