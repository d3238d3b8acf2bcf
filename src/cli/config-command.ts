import { defineCommand } from "citty";
import { renderConfig } from "../config/render.ts";
import { write } from "../platform/index.ts";
import { VERSION } from "../version.ts";
import { serveFlags, type ServeArgs } from "./flags.ts";
import { failureOf } from "./report.ts";
import { resolveServeSetup } from "./resolve-config.ts";

export const configCommand = defineCommand({
  meta: {
    name: "config",
    description:
      "Run every check `serve` runs (without listening or opening the store) and print the resolved config (TOML, secrets redacted)",
  },
  args: {
    ...serveFlags,
    check: { type: "boolean", description: "Print nothing: the exit status says whether `serve` would accept the configuration (0) or not (2)" },
  },
  run: async ({ args }) => {
    if (!args.check) {
      await write("stdout", configText(args as ServeArgs));
      return;
    }
    try {
      resolveServeSetup(args as ServeArgs);
    } catch (error) {
      process.exitCode = failureOf(error).exitCode;
    }
  },
});

/** The resolved configuration as TOML with a header saying where it came from; never the token. */
export function configText(args: ServeArgs): string {
  const { config, token, allowInsecureRemote } = resolveServeSetup(args);
  const header = [
    `yoi-runtime ${VERSION}: the configuration \`serve\` would run with`,
    `layers, lowest precedence first: ${config.sources.join(" < ")}`,
    token === null
      ? "auth: no token configured; every route is open to whoever can connect"
      : `auth: a bearer token is configured (read from ${config.auth.token_env !== null ? `$${config.auth.token_env}` : config.auth.token_file}); its value is never printed`,
  ];
  if (allowInsecureRemote) header.push("--allow-insecure-remote is set");
  return renderConfig(config, header);
}
