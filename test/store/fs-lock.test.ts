import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { FsStore, Runtime } from "../../src/index.ts";
import { cleanScratch, expectCode, runtimeOptions, scratchDir } from "./helpers.ts";

afterAll(cleanScratch);

const FIXTURE = resolve(import.meta.dir, "fixtures/open-store.ts");

/** Runs the fixture to completion: opens the store at `root` in another process. */
async function openElsewhere(root: string): Promise<{ exit: number; report: Record<string, unknown> }> {
  const proc = Bun.spawn([process.execPath, FIXTURE, root], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
  const [out, exit] = await Promise.all([new Response(proc.stdout).text(), proc.exited]);
  return { exit, report: JSON.parse(out.trim().split("\n").pop()!) };
}

/** A pid that no process has: a child that has exited. */
async function deadPid(): Promise<number> {
  const proc = Bun.spawn([process.execPath, "-e", "0"], { stdout: "ignore", stderr: "ignore" });
  await proc.exited;
  return proc.pid;
}

describe("FsStore LOCK", () => {
  test("a second process on the same root fails store_locked naming the owner; after close it can open", async () => {
    const root = scratchDir("lock");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    const refused = await openElsewhere(root);
    expect(refused.exit).not.toBe(0);
    expect(refused.report.code).toBe("store_locked");
    expect(String(refused.report.message)).toContain(`process ${process.pid}`);
    expect(String(refused.report.message)).toContain("LOCK");
    await runtime.close();
    const allowed = await openElsewhere(root);
    expect(allowed.exit).toBe(0);
    expect(allowed.report.runtime_id).toBe(runtime.runtime_id);
  });

  test("a second store in the same process fails store_locked", async () => {
    const root = scratchDir("lock");
    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    await expectCode(Runtime.open(runtimeOptions(new FsStore({ root: `${root}/.` }))), "store_locked");
    await runtime.close();
    await (await Runtime.open(runtimeOptions(new FsStore({ root })))).close();
  });

  test("of two stores opened at the same moment in one process, exactly one gets the lock", async () => {
    const root = scratchDir("lock");
    const results = await Promise.allSettled([0, 1, 2].map(() => Runtime.open(runtimeOptions(new FsStore({ root })))));
    const opened = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(opened.length).toBe(1);
    for (const result of results) {
      if (result.status === "rejected") expect((result.reason as { code?: string }).code).toBe("store_locked");
    }
    await opened[0]!.close();
  });

  test("the lock of a killed process is taken over with a warning", async () => {
    const root = scratchDir("lock");
    const proc = Bun.spawn([process.execPath, FIXTURE, root, "hold"], { stdout: "pipe", stderr: "inherit", stdin: "ignore" });
    const reader = proc.stdout.getReader();
    const { value } = await reader.read();
    const report = JSON.parse(new TextDecoder().decode(value).trim().split("\n")[0]!);
    expect(report.opened).toBe(true);
    expect(JSON.parse(readFileSync(join(root, "LOCK"), "utf8")).pid).toBe(proc.pid);
    proc.kill("SIGKILL");
    await proc.exited;
    expect(existsSync(join(root, "LOCK"))).toBe(true);

    const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
    try {
      expect(runtime.runtime_id).toBe(report.runtime_id);
      expect(JSON.parse(readFileSync(join(root, "LOCK"), "utf8")).pid).toBe(process.pid);
      const warning = (await runtime.diagnostics()).find((d) => d.code === "store_lock_taken_over");
      expect(warning?.level).toBe("warning");
      expect(warning?.message).toContain(`process ${proc.pid}`);
    } finally {
      await runtime.close();
    }
    expect(existsSync(join(root, "LOCK"))).toBe(false);
  });

  test("a LOCK naming a dead pid, or holding no pid at all, is stale", async () => {
    for (const content of [`${await deadPid()}\n`, ""]) {
      const root = scratchDir("lock");
      await (await Runtime.open(runtimeOptions(new FsStore({ root })))).close();
      writeFileSync(join(root, "LOCK"), content);
      const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
      expect((await runtime.diagnostics()).some((d) => d.code === "store_lock_taken_over")).toBe(true);
      await runtime.close();
    }
  });

  test("LOCK names its owner by pid, start time and boot id; a reused pid or another boot is stale, taken over with a warning", async () => {
    // A live process that is not the owner: the pid the kernel handed out again after the owner died.
    const other = Bun.spawn(["sleep", "60"], { stdout: "ignore", stderr: "ignore" });
    try {
      const stat = readFileSync(`/proc/${other.pid}/stat`, "utf8");
      const start = Number(stat.slice(stat.lastIndexOf(") ") + 2).split(" ")[19]);
      const boot_id = readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim();
      for (const owner of [
        { pid: other.pid, start: start - 1, boot_id },
        { pid: other.pid, start, boot_id: "another-boot" },
      ]) {
        const root = scratchDir("lock");
        await (await Runtime.open(runtimeOptions(new FsStore({ root })))).close();
        writeFileSync(join(root, "LOCK"), `${JSON.stringify(owner)}\n`);
        const runtime = await Runtime.open(runtimeOptions(new FsStore({ root })));
        try {
          const warning = (await runtime.diagnostics()).find((d) => d.code === "store_lock_taken_over");
          expect(warning?.message).toContain(`process ${other.pid}`);
        } finally {
          await runtime.close();
        }
      }
      // The same identity, still running: that owner holds the store.
      const root = scratchDir("lock");
      await (await Runtime.open(runtimeOptions(new FsStore({ root })))).close();
      writeFileSync(join(root, "LOCK"), `${JSON.stringify({ pid: other.pid, start, boot_id })}\n`);
      const error = await expectCode(Runtime.open(runtimeOptions(new FsStore({ root }))), "store_locked");
      expect(error.message).toContain(`process ${other.pid}`);
    } finally {
      other.kill("SIGKILL");
      await other.exited;
    }
  });

  test("a failed open (runtime id mismatch) releases the lock", async () => {
    const root = scratchDir("lock");
    await (await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-one" }))).close();
    const error = await expectCode(Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-two" })), "store_runtime_mismatch");
    expect(error.message).toContain("rt-one");
    expect(error.message).toContain("rt-two");
    expect(error.details).toMatchObject({ store_runtime_id: "rt-one", configured_runtime_id: "rt-two" });
    expect(existsSync(join(root, "LOCK"))).toBe(false);
    await (await Runtime.open(runtimeOptions(new FsStore({ root }), { runtime_id: "rt-one" }))).close();
  });
});
