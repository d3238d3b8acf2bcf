import { afterAll, describe, expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

const root = resolve(import.meta.dir, "../..");
const guard = join(import.meta.dir, "fixtures", "forbid-elysia.ts");
// Inside the repo so that `elysia` resolves from its node_modules, like any source file's import would.
const scratch = mkdtempSync(join(import.meta.dir, ".tmp-entry-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Imports `entry`, then prints every loaded module path inside the elysia package. */
const importScript = (entry: string) =>
  `await import(${JSON.stringify(entry)}); ` +
  `console.log(JSON.stringify(Object.keys(require.cache).filter((p) => /node_modules[\\/]elysia[\\/]/.test(p))));`;

/** Runs `importScript` in a fresh Bun process with the guard preloaded: two independent checks. */
function importUnderGuard(entry: string) {
  const result = spawnSync(process.execPath, ["--preload", guard, "-e", importScript(entry)], {
    cwd: root,
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe("package entry `yoi-runtime` (§1)", () => {
  test("importing src/index.ts loads no elysia module", () => {
    const result = importUnderGuard(join(root, "src", "index.ts"));
    expect(result.stderr).not.toContain("FORBIDDEN_ELYSIA_LOAD");
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout.trim().split("\n").at(-1)!)).toEqual([]);
  });

  test("control: the same check fails for an entry that reaches elysia indirectly", () => {
    const indirect = join(scratch, "indirect.ts");
    writeFileSync(join(scratch, "uses-elysia.ts"), `import { Elysia } from "elysia";\nexport const app = new Elysia();\n`);
    writeFileSync(indirect, `export * from ${JSON.stringify(join(root, "src", "index.ts"))};\nexport { app } from "./uses-elysia.ts";\n`);
    const guarded = importUnderGuard(indirect);
    expect(guarded.status).not.toBe(0);
    expect(guarded.stderr).toContain("FORBIDDEN_ELYSIA_LOAD");

    // Without the guard the module list alone also reveals it.
    const plain = spawnSync(process.execPath, ["-e", importScript(indirect)], { cwd: root, encoding: "utf8", timeout: 60_000 });
    expect(plain.status).toBe(0);
    const loaded = JSON.parse(plain.stdout.trim().split("\n").at(-1)!) as string[];
    expect(loaded.some((p) => p.includes(`node_modules/elysia/`))).toBe(true);
  });
});
