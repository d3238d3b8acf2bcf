import { renderUsage } from "citty";
import { VERSION } from "../version.ts";
import type { ResolvedCommand } from "./strict-args.ts";
import { colourOn, stripAnsi } from "./style.ts";

/**
 * citty names a nested command after its parent only (`USAGE list [OPTIONS]`); a stand-in parent
 * carrying the whole path makes it `USAGE yoi-runtime workers list [OPTIONS]`.
 */
async function rendered(resolved: ResolvedCommand): Promise<string> {
  const parent = resolved.path.length > 1 ? { meta: { name: resolved.path.slice(0, -1).join(" "), version: VERSION } } : undefined;
  return renderUsage(resolved.command, parent);
}

/** The command's `--help` text; colour only on a terminal (citty colours unless NO_COLOR/CI is set). */
export async function helpText(resolved: ResolvedCommand): Promise<string> {
  const text = await rendered(resolved);
  return colourOn("stdout") ? text : stripAnsi(text).replace(/[ ]+$/gm, "");
}

/** The one usage line, e.g. `yoi-runtime workers show [OPTIONS] <WORKER>`. */
export async function usageLine(resolved: ResolvedCommand): Promise<string> {
  const line = stripAnsi(await rendered(resolved))
    .split("\n")
    .find((text) => text.startsWith("USAGE "));
  return (line ?? `USAGE ${resolved.path.join(" ")}`).slice("USAGE ".length).trimEnd();
}
