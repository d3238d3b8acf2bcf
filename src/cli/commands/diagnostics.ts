import { defineCommand } from "citty";
import { unwrap } from "../../client/index.ts";
import { relativeTime } from "../relative-time.ts";
import { choiceArg, clientFlags, clientFromArgs, jsonFlag } from "./connect.ts";
import { dash, err, out, printJson, status, table } from "./format.ts";

const LEVELS = ["info", "warning", "error"] as const;

export const diagnosticsCommand = defineCommand({
  meta: { name: "diagnostics", description: "List the warnings and errors the runtime recorded (--level: that level and worse)" },
  args: {
    level: { type: "string", valueHint: LEVELS.join("|"), description: "Only diagnostics of this level or more severe" },
    ...jsonFlag,
    ...clientFlags,
  },
  run: async ({ args }) => {
    const level = choiceArg(args.level, "--level", LEVELS);
    const { diagnostics } = await unwrap(clientFromArgs(args).v1.diagnostics.get());
    const shown = diagnostics.filter((diagnostic) => level === undefined || LEVELS.indexOf(diagnostic.level) >= LEVELS.indexOf(level));
    if (args.json) await printJson(shown);
    else if (shown.length === 0) await err(`no diagnostics${level === undefined ? "" : ` at level ${level} or above`}\n`);
    else {
      await out(
        table(
          ["WHEN", "LEVEL", "CODE", "WORKER", "RUN", "MESSAGE"],
          shown.map((diagnostic) => [
            relativeTime(diagnostic.created_at),
            status(diagnostic.level),
            diagnostic.code,
            dash(diagnostic.worker_ref?.worker_id),
            dash(diagnostic.run_id),
            diagnostic.message,
          ]),
        ),
      );
    }
  },
});
