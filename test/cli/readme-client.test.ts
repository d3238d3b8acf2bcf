import { afterAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanScratch, REPO, scratchDir, startServer } from "./helpers.ts";

afterAll(cleanScratch);

/**
 * The README's typed-client example, run as written (only the import and the URL point at this
 * checkout and a test runtime) against a runtime whose default profile answers at once: the reply
 * must be printed, so the stream is attached before the input.
 */
test("the README's typed-client example prints the reply, even from a fast profile", async () => {
  const readme = readFileSync(join(REPO, "README.md"), "utf8");
  const section = readme.slice(readme.indexOf("### Using the typed client from a Backend"));
  const code = /```ts\n([\s\S]*?)```/.exec(section)![1]!;
  const server = await startServer(["serve", "--store", "memory"]);
  try {
    const dir = scratchDir();
    const script = code
      .replace(`from "yoi-runtime/client"`, `from ${JSON.stringify(join(REPO, "src/client/index.ts"))}`)
      .replace(`"http://127.0.0.1:38800"`, JSON.stringify(server.url));
    expect(script).not.toBe(code);
    writeFileSync(join(dir, "example.ts"), script);
    const proc = Bun.spawn([process.execPath, join(dir, "example.ts")], { cwd: dir, stdout: "pipe", stderr: "pipe" });
    const [stdout, stderr, status] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    expect({ status, stderr }).toEqual({ status: 0, stderr: "" });
    expect(stdout).toMatch(/^hello\nrun_completed \(run r-\S+\)\n$/);
  } finally {
    await server.stop();
  }
});
