import { runCommand, type CommandDef } from "citty";
import { write } from "../platform/index.ts";
import { VERSION } from "../version.ts";
import { failureOf, PROGRAM, reportFailure } from "./report.ts";
import { checkArgv, commandNamed, type ResolvedCommand } from "./strict-args.ts";
import { helpText, usageLine } from "./usage.ts";

export { PROGRAM } from "./report.ts";
/** The command a command line without one runs: `yoi-runtime --bind 127.0.0.1:0` serves. */
export const DEFAULT_COMMAND = "serve";

const HELP = new Set(["--help", "-h"]);
const VERSION_FLAGS = new Set(["--version", "-v"]);

/**
 * Runs the CLI for `argv` (arguments after the program name) and resolves with the exit status:
 * 0 on success, 2 for a refused command line or configuration (nothing was started), 1 for any
 * other failure. Every failure is printed here, once (as `{"error":{…}}` with `--json`). A command
 * that fails without throwing (a run that did not complete) sets `process.exitCode`.
 */
export async function main(root: CommandDef<any>, argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (argv.length === 1 && first !== undefined && VERSION_FLAGS.has(first)) {
    await write("stdout", `${VERSION}\n`);
    return 0;
  }
  const args = first === undefined || (first.startsWith("-") && !HELP.has(first)) ? [DEFAULT_COMMAND, ...argv] : [...argv];
  const options = args.slice(0, endOfFlags(args));
  let resolved: ResolvedCommand | null = null;
  try {
    const helpAt = options.findIndex((arg) => HELP.has(arg));
    if (helpAt >= 0) {
      // Help for the command named before the flag; everything else on the line is ignored.
      await printHelp(await commandNamed(root, args.slice(0, helpAt), PROGRAM));
      return 0;
    }
    resolved = await checkArgv(root, args, PROGRAM);
    if (resolved.command.subCommands && !resolved.command.run) {
      // A bare group (`yoi-runtime workers`) lists what it can do.
      await printHelp(resolved);
      return 0;
    }
    // citty drops a subcommand's return value, so commands report their status the Node way.
    await runCommand(root, { rawArgs: args });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    const named = resolved ?? (await commandNamed(root, args, PROGRAM).catch(() => null));
    const failure = failureOf(error);
    return reportFailure(failure, {
      json: options.includes("--json"),
      usage: named && failure.showUsage ? await usageLine(named) : null,
      helpCommand: named?.path.join(" ") ?? null,
    });
  }
}

export async function printHelp(resolved: ResolvedCommand): Promise<void> {
  await write("stdout", `${await helpText(resolved)}\n`);
}

/** Index of `--` (after which nothing is a flag), or the length. */
function endOfFlags(args: readonly string[]): number {
  const end = args.indexOf("--");
  return end < 0 ? args.length : end;
}
