#!/usr/bin/env bun
/**
 * The `yoi-runtime` command (SPEC §11): `serve` (the default), `config`, `openapi`. Runs under
 * Bun (`bun cli.ts`, `bunx yoi-runtime`, the compiled binary) and Deno (`deno run -A cli.ts`).
 * Commands live in src/cli/; this file only assembles them.
 */
import { defineCommand } from "citty";
import { configCommand } from "./src/cli/config-command.ts";
import { main, PROGRAM } from "./src/cli/main.ts";
import { openapiCommand } from "./src/cli/openapi-command.ts";
import { serveCommand } from "./src/cli/serve.ts";
import { commandLineArgs, exit } from "./src/platform/index.ts";
import { VERSION } from "./src/version.ts";

const root = defineCommand({
  meta: {
    name: PROGRAM,
    version: VERSION,
    description: "Runtime for LLM agent workers: a REST command API over an embeddable core. Without a command, runs `serve`",
  },
  // Client commands (issue 5) register here once src/cli/commands/{workers,send,tail,chat}.ts
  // exist: `import { workersCommand } from "./src/cli/commands/workers.ts"` and add
  // `workers: workersCommand, send: …, tail: …, chat: …`. `main` checks every command's flags
  // strictly from its citty `args` (nested subcommands included) and reads its exit status from
  // `process.exitCode`, so nothing else needs wiring.
  subCommands: {
    serve: serveCommand,
    config: configCommand,
    openapi: openapiCommand,
  },
});

await exit(await main(root, commandLineArgs()));
