import { defineCommand } from "citty";
import { printHelp, PROGRAM } from "../main.ts";
import { checkArgv } from "../strict-args.ts";

export const helpCommand = defineCommand({
  meta: { name: "help", description: "Show the help of a command: `help workers list` is `workers list --help`" },
  args: {
    command: { type: "positional", required: false, valueHint: "COMMAND", description: "The command (and subcommand) to explain" },
  },
  run: async ({ args }) => {
    // The command tree is this command's parent: loaded when asked for, not imported at start.
    const { root } = await import("../root.ts");
    // The words name a command exactly as on a command line, so a typo is refused the same way.
    await printHelp(await checkArgv(root, args._, PROGRAM));
  },
});
