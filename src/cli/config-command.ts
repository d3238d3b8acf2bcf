import { defineCommand } from "citty";
import { renderConfig } from "../config/render.ts";
import { write } from "../platform/index.ts";
import { VERSION } from "../version.ts";
import { serveFlags, type ServeArgs } from "./flags.ts";
import { resolveServeSetup } from "./resolve-config.ts";

export const configCommand = defineCommand({
  meta: { name: "config", description: "Print the resolved config `serve` would run with (TOML, secrets redacted)" },
  args: serveFlags,
  run: async ({ args }) => {
    await write("stdout", configText(args as ServeArgs));
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
