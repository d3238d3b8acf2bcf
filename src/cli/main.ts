import { renderUsage, runCommand, type CommandDef } from "citty";
import { CONFIG_EXIT_CODE, ConfigError } from "../config/errors.ts";
import { isTerminal, write } from "../platform/index.ts";
import { messageOf } from "../shared/errors.ts";
import { VERSION } from "../version.ts";
import { checkArgv, commandNamed } from "./strict-args.ts";

export const PROGRAM = "yoi-runtime";
/** The command a command line without one runs: `yoi-runtime --bind 127.0.0.1:0` serves. */
export const DEFAULT_COMMAND = "serve";

const HELP = new Set(["--help", "-h"]);
const VERSION_FLAGS = new Set(["--version", "-v"]);

/**
 * Runs the CLI for `argv` (arguments after the program name) and resolves with the exit status:
 * 0 on success, 2 for a refused command line or configuration (nothing was started), 1 for any
 * other failure. A command that fails without throwing sets `process.exitCode`. The caller exits
 * with the result.
 */
export async function main(root: CommandDef<any>, argv: readonly string[]): Promise<number> {
  const first = argv[0];
  if (argv.length === 1 && first !== undefined && VERSION_FLAGS.has(first)) {
    await write("stdout", `${VERSION}\n`);
    return 0;
  }
  const args = first === undefined || (first.startsWith("-") && !HELP.has(first)) ? [DEFAULT_COMMAND, ...argv] : [...argv];
  try {
    const helpAt = args.findIndex((arg) => HELP.has(arg));
    const end = args.indexOf("--");
    if (helpAt >= 0 && (end < 0 || helpAt < end)) {
      // Help for the command named before the flag; everything else on the line is ignored.
      const named = await commandNamed(root, args.slice(0, helpAt), PROGRAM);
      const usage = await renderUsage(named.command, named.parent);
      // citty colours unless NO_COLOR/CI is set; a pipe or file gets plain text.
      await write("stdout", `${isTerminal("stdout") ? usage : stripAnsi(usage)}\n`);
      return 0;
    }
    await checkArgv(root, args, PROGRAM);
    // citty drops a subcommand's return value, so commands report their status the Node way.
    await runCommand(root, { rawArgs: args });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (error) {
    if (error instanceof ConfigError) {
      await write("stderr", `${PROGRAM}: ${error.message}\nRun \`${PROGRAM} --help\` for usage.\n`);
      return CONFIG_EXIT_CODE;
    }
    // citty's own usage errors (a missing required argument) are command-line errors too.
    if (error instanceof Error && error.name === "CLIError") {
      await write("stderr", `${PROGRAM}: ${error.message}\n`);
      return CONFIG_EXIT_CODE;
    }
    await write("stderr", `${PROGRAM}: ${messageOf(error)}\n`);
    return 1;
  }
}

const ANSI_SGR = /\x1b\[[0-9;]*m/g;

function stripAnsi(text: string): string {
  return text.replace(ANSI_SGR, "").replace(/[ ]+$/gm, "");
}
