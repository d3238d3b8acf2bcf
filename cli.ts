#!/usr/bin/env bun
/**
 * The `yoi-runtime` command (SPEC §11): `serve` (the default), `config`, `openapi`, and the client
 * commands `workers`, `send`, `tail`, `chat` that talk to a running runtime. Runs under
 * Bun (`bun cli.ts`, `bunx yoi-runtime`, the compiled binary) and Deno (`deno run -A cli.ts`).
 * Commands live in src/cli/; this file only assembles them.
 */
import { defineCommand } from "citty";
import { chatCommand } from "./src/cli/commands/chat.ts";
import { sendCommand } from "./src/cli/commands/send.ts";
import { tailCommand } from "./src/cli/commands/tail.ts";
import { workersCommand } from "./src/cli/commands/workers.ts";
import { keygenCommand } from "./src/cli/commands/keygen.ts";
import { tokenCommand } from "./src/cli/commands/token.ts";
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
  // `main` checks every command's flags strictly from its citty `args` (nested subcommands
  // included) and reads its exit status from `process.exitCode`, so nothing else needs wiring.
  subCommands: {
    serve: serveCommand,
    config: configCommand,
    openapi: openapiCommand,
    workers: workersCommand,
    send: sendCommand,
    tail: tailCommand,
    chat: chatCommand,
    keygen: keygenCommand,
    token: tokenCommand,
  },
});

await exit(await main(root, commandLineArgs()));
