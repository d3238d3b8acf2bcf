import { defineCommand, type CommandDef } from "citty";
import { VERSION } from "../version.ts";
import { PROGRAM } from "./report.ts";

/**
 * Each command is imported when it runs, not before: `--version` and the client commands load no
 * server, store or Elysia code (only `--help` of the whole program reads every command).
 */
const lazy = <M,>(load: () => Promise<M>, pick: (module: M) => CommandDef<any>) => async () => pick(await load());

export const root = defineCommand({
  meta: {
    name: PROGRAM,
    version: VERSION,
    description: "Runtime for LLM agent workers: a REST command API over an embeddable core. Without a command, runs `serve`",
  },
  // `main` checks every command's flags strictly from its citty `args` (nested subcommands
  // included) and reads its exit status from `process.exitCode`, so nothing else needs wiring.
  subCommands: {
    serve: lazy(() => import("./serve.ts"), (m) => m.serveCommand),
    config: lazy(() => import("./config-command.ts"), (m) => m.configCommand),
    openapi: lazy(() => import("./openapi-command.ts"), (m) => m.openapiCommand),
    status: lazy(() => import("./commands/status.ts"), (m) => m.statusCommand),
    profiles: lazy(() => import("./commands/status.ts"), (m) => m.profilesCommand),
    workers: lazy(() => import("./commands/workers.ts"), (m) => m.workersCommand),
    send: lazy(() => import("./commands/send.ts"), (m) => m.sendCommand),
    chat: lazy(() => import("./commands/chat.ts"), (m) => m.chatCommand),
    transcript: lazy(() => import("./commands/transcript.ts"), (m) => m.transcriptCommand),
    runs: lazy(() => import("./commands/runs.ts"), (m) => m.runsCommand),
    run: lazy(() => import("./commands/runs.ts"), (m) => m.runCommand),
    events: lazy(() => import("./commands/events.ts"), (m) => m.eventsCommand),
    tail: lazy(() => import("./commands/tail.ts"), (m) => m.tailCommand),
    store: lazy(() => import("./commands/store.ts"), (m) => m.storeCommand),
    diagnostics: lazy(() => import("./commands/diagnostics.ts"), (m) => m.diagnosticsCommand),
    version: lazy(() => import("./commands/version.ts"), (m) => m.versionCommand),
    help: lazy(() => import("./commands/help.ts"), (m) => m.helpCommand),
    keygen: lazy(() => import("./commands/keygen.ts"), (m) => m.keygenCommand),
    token: lazy(() => import("./commands/token.ts"), (m) => m.tokenCommand),
    completion: lazy(() => import("./commands/completion.ts"), (m) => m.completionCommand),
    __complete: lazy(() => import("./commands/completion.ts"), (m) => m.completeCommand),
  },
});
