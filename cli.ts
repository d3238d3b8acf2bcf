#!/usr/bin/env bun
/**
 * The `yoi-runtime` command (SPEC §11): `serve` (the default), `config`, `openapi`, and the client
 * commands (`status`, `workers`, `send`, `chat`, `transcript`, `runs`, `events`, `tail`…) that
 * talk to a running runtime. Runs under Bun (`bun cli.ts`, `bunx yoi-runtime`, the compiled
 * binary) and Deno (`deno run -A cli.ts`). Commands live in src/cli/ (the tree in root.ts).
 */
import { main } from "./src/cli/main.ts";
import { root } from "./src/cli/root.ts";
import { commandLineArgs, exit } from "./src/platform/index.ts";

await exit(await main(root, commandLineArgs()));
