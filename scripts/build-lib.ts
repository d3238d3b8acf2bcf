/**
 * `npm run build:lib` (and `prepack`, so every `npm pack` ships it) → lib/: the library as
 * plain ESM JavaScript with `.d.ts`, which Node and Deno load from node_modules (neither strips
 * TypeScript types there). Starts from an empty directory so no file of an older layout lingers.
 */
import { rmSync } from "node:fs";
import { resolve } from "node:path";

const root = resolve(import.meta.dir, "..");
rmSync(resolve(root, "lib"), { recursive: true, force: true });
const started = performance.now();
const tsc = Bun.spawnSync([process.execPath, resolve(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.lib.json"], { cwd: root, stdout: "inherit", stderr: "inherit" });
if (tsc.exitCode !== 0) {
  console.error(`library build failed (tsc exit ${tsc.exitCode})`);
  process.exit(tsc.exitCode ?? 1);
}
console.log(`built lib/ in ${((performance.now() - started) / 1000).toFixed(1)} s`);
