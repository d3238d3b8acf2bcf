import { defineCommand } from "citty";
import { write } from "../../platform/index.ts";
import { VERSION } from "../../version.ts";

export const versionCommand = defineCommand({
  meta: { name: "version", description: "Print the version (as --version does)" },
  args: {},
  run: async () => {
    await write("stdout", `${VERSION}\n`);
  },
});
