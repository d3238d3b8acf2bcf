import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { checkLayers, type Violation } from "./layer-rules.ts";

const REPO = join(import.meta.dir, "../..");

describe("layer rules (docs/architecture.md)", () => {
  test("the source tree keeps them", () => {
    expect(checkLayers(REPO)).toEqual([]);
  });
});

/** A tree that breaks every rule once (and has look-alikes that must not count). */
const FIXTURE: Record<string, string> = {
  "src/core/runtime.ts": [
    `import { Type } from "@sinclair/typebox";`,
    `import { TypeCompiler } from "@sinclair/typebox/compiler";`,
    `import type { RuntimeStore } from "./ports/store.ts";`,
    `import { sleep } from "../shared/sleep.ts";`,
    `import { FsStore } from "../store/fs-store.ts";`,
    `export { echoBackend } from "../execution/echo.ts";`,
    `import { readFile } from "node:fs";`,
    `import { Elysia } from "elysia";`,
    `const platform = await import("../platform/index.ts");`,
    `type Config = import("../config/index.ts").Config;`,
    `// Bun.spawn in a comment and "Deno.env" in a string are not uses.`,
    `const label = "Bun.serve and Deno.serve";`,
    `const options = { Bun: 1 }; options.Bun;`,
    `export const pid = Bun.spawn(["true"]).pid;`,
  ].join("\n"),
  "src/core/ports/store.ts": `export interface RuntimeStore { load(): Promise<void> }\n`,
  "src/shared/sleep.ts": [
    `export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));`,
    `import type { Run } from "../core/schema/run.ts";`,
  ].join("\n"),
  "src/store/fs-store.ts": [
    `import type { RuntimeStore } from "../core/ports/store.ts";`,
    `export const exists = (globalThis as any).Deno?.statSync;`,
    `export const home = process.env.HOME;`,
  ].join("\n"),
  "src/server/app.ts": [
    `import type { RuntimeStore } from "../core/ports/store.ts";`,
    `export * from "../store/memory-store";`,
    `export type Sub = Bun.Subprocess;`,
  ].join("\n"),
  "src/client/events.ts": [
    `import { parse } from "../execution/sse-parser.ts";`,
    `import type { App } from "../server/app.ts";`,
    `import { file } from "bun";`,
  ].join("\n"),
  "src/store/memory-store/index.ts": `export class MemoryStore {}\n`,
  "src/platform/bun.ts": [`export const serve = Bun.serve;`, `export const env = process.env;`, `import { file } from "bun";`].join("\n"),
  "src/config/load.ts": `export const path = process.env.YOI_RUNTIME_CONFIG;\n`,
};

describe("negative control: the checker reports each rule it is given a reason to", () => {
  const root = mkdtempSync(join(tmpdir(), "yoi-layers-"));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  for (const [path, text] of Object.entries(FIXTURE)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }

  test("every violation in the fixture, and nothing else", () => {
    const expected: Violation[] = [
      { file: "src/client/events.ts", line: 1, rule: "client-imports", detail: "../execution/sse-parser.ts" },
      { file: "src/client/events.ts", line: 3, rule: "runtime-global", detail: "bun" },
      { file: "src/core/runtime.ts", line: 5, rule: "core-imports", detail: "../store/fs-store.ts" },
      { file: "src/core/runtime.ts", line: 6, rule: "core-imports", detail: "../execution/echo.ts" },
      { file: "src/core/runtime.ts", line: 7, rule: "core-imports", detail: "node:fs" },
      { file: "src/core/runtime.ts", line: 8, rule: "core-imports", detail: "elysia" },
      { file: "src/core/runtime.ts", line: 9, rule: "core-imports", detail: "../platform/index.ts" },
      { file: "src/core/runtime.ts", line: 10, rule: "core-imports", detail: "../config/index.ts" },
      { file: "src/core/runtime.ts", line: 14, rule: "runtime-global", detail: "Bun" },
      { file: "src/server/app.ts", line: 2, rule: "server-imports-store", detail: "../store/memory-store" },
      { file: "src/server/app.ts", line: 3, rule: "runtime-global", detail: "Bun" },
      { file: "src/shared/sleep.ts", line: 2, rule: "shared-imports", detail: "../core/schema/run.ts" },
      { file: "src/store/fs-store.ts", line: 2, rule: "runtime-global", detail: "Deno" },
      { file: "src/store/fs-store.ts", line: 3, rule: "process-env", detail: "process.env" },
    ];
    expect(checkLayers(root)).toEqual(expected);
  });
});
