import { defineCommand } from "citty";
import { ConfigError } from "../../config/errors.ts";
import { verifyStore } from "../../store/fs/verify.ts";
import { resolveServeSetup } from "../resolve-config.ts";
import { out } from "./format.ts";

const verifyCommand = defineCommand({
  meta: { name: "verify", description: "Check every record of an fs store offline; exits 1 naming each damaged file and byte offset" },
  args: {
    "data-dir": { type: "string", valueHint: "DIR", description: "fs store root (default: as `serve` resolves it)" },
    config: { type: "string", valueHint: "FILE", description: "TOML config file the store root is read from" },
    json: { type: "boolean", description: "Print the report as one JSON object" },
  },
  run: async ({ args }) => {
    const { config } = resolveServeSetup({ config: args.config, "data-dir": args["data-dir"], store: "fs" });
    if (config.store.kind !== "fs") throw new ConfigError("store verify checks an fs store");
    const report = verifyStore(config.store.root);
    if (args.json) {
      await out(`${JSON.stringify({ root: config.store.root, ...report })}\n`);
    } else {
      for (const damage of report.damaged) await out(`damaged: ${damage.file} at byte ${damage.offset}: ${damage.problem}\n`);
      for (const torn of report.torn) await out(`torn tail: ${torn.file} at byte ${torn.offset}: ${torn.problem}\n`);
      const verdict = report.damaged.length === 0 ? "no damage" : `${report.damaged.length} damaged`;
      await out(`${config.store.root}: ${report.records} records in ${report.files} files checked, ${verdict}\n`);
    }
    if (report.damaged.length > 0) process.exitCode = 1;
  },
});

export const storeCommand = defineCommand({
  meta: { name: "store", description: "Offline tools for an fs store (the runtime need not run)" },
  subCommands: { verify: verifyCommand },
});
