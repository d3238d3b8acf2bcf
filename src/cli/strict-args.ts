import type { ArgsDef, CommandDef, Resolvable } from "citty";
import { didYouMean } from "../shared/suggest.ts";
import { UsageError } from "./usage-error.ts";

const resolve = async <T>(value: Resolvable<T>): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

const kebab = (name: string): string => name.replace(/([a-z0-9])([A-Z])/g, "$1-$2").toLowerCase();
const camel = (name: string): string => name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

/** A command as the user named it on the command line, e.g. `yoi-runtime workers list`. */
export interface ResolvedCommand {
  command: CommandDef<any>;
  parent: CommandDef<any> | undefined;
  path: string[];
}

/**
 * Checks a command line against the citty command tree the way citty will read it, refusing what
 * citty would silently accept: unknown flags, flags without their value, unknown commands and
 * stray arguments. Returns the command that will run. Throws `UsageError` naming the culprit (and the
 * closest known name, when one is close).
 */
export async function checkArgv(root: CommandDef<any>, argv: readonly string[], rootName: string): Promise<ResolvedCommand> {
  let command = root;
  let parent: CommandDef<any> | undefined;
  const path = [rootName];
  let rest = argv;
  for (;;) {
    const next = await checkLevel(command, rest, path.join(" "));
    if (!next) return { command, parent, path };
    parent = command;
    command = next.command;
    path.push(next.name);
    rest = next.rest;
  }
}

interface FlagSpec {
  name: string;
  type: "string" | "boolean";
}

async function checkLevel(
  command: CommandDef<any>,
  argv: readonly string[],
  where: string,
): Promise<{ command: CommandDef<any>; name: string; rest: readonly string[] } | null> {
  const args: ArgsDef = (await resolve(command.args ?? {})) ?? {};
  const subCommands = command.subCommands ? await resolve(command.subCommands) : undefined;
  const flags = new Map<string, FlagSpec>();
  let positionals = 0;
  for (const [name, def] of Object.entries(args)) {
    if (def.type === "positional") {
      positionals++;
      continue;
    }
    const spec: FlagSpec = { name: kebab(name), type: def.type === "boolean" ? "boolean" : "string" };
    const aliases = "alias" in def && def.alias !== undefined ? (Array.isArray(def.alias) ? def.alias : [def.alias]) : [];
    for (const alias of [name, kebab(name), camel(name), ...aliases]) flags.set(alias, spec);
  }
  const unknownFlag = (token: string): never => {
    const known = [...new Set([...flags.values()].map((spec) => `--${spec.name}`))];
    const guess = didYouMean(token.replace(/^-+/, "--"), known, (name) => name);
    throw new UsageError(
      `unknown flag ${token} for \`${where}\`${guess || (known.length > 0 ? ` (known: ${known.join(", ")})` : " (it takes no flags)")}`,
    );
  };
  let seen = 0;
  let stray: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const token = argv[i]!;
    if (token === "--") {
      seen += argv.length - i - 1;
      stray ??= argv[i + 1];
      break;
    }
    if (token.startsWith("--")) {
      const eq = token.indexOf("=");
      const name = token.slice(2, eq < 0 ? undefined : eq);
      const spec = flags.get(name);
      if (!spec) {
        const negated = name.startsWith("no-") ? flags.get(name.slice(3)) : undefined;
        if (negated?.type === "boolean" && eq < 0) continue;
        unknownFlag(eq < 0 ? token : token.slice(0, eq));
      }
      if (spec!.type === "boolean") {
        if (eq >= 0 && !["true", "false"].includes(token.slice(eq + 1))) {
          throw new UsageError(`--${spec!.name} takes no value (or =true / =false), got ${JSON.stringify(token.slice(eq + 1))}`);
        }
        continue;
      }
      if (eq < 0) {
        // citty would take the next flag as this one's value: `--bind --store memory`.
        if (!isValue(argv[i + 1], flags)) throw new UsageError(`--${spec!.name} needs a value`);
        i++;
      }
      continue;
    }
    if (token.startsWith("-") && token.length > 1) {
      const spec = flags.get(token.slice(1));
      if (!spec || token.length !== 2) unknownFlag(token);
      if (spec!.type === "string") {
        if (!isValue(argv[i + 1], flags)) throw new UsageError(`${token} needs a value`);
        i++;
      }
      continue;
    }
    if (subCommands && Object.keys(subCommands).length > 0 && seen === 0) {
      const sub = await findSubCommand(subCommands, token);
      if (!sub) {
        const names = Object.keys(subCommands).filter((name) => !name.startsWith("_"));
        const guess = didYouMean(token, names);
        throw new UsageError(`unknown command ${JSON.stringify(token)} for \`${where}\`${guess || ` (commands: ${names.join(", ")})`}`);
      }
      return { command: sub, name: token, rest: argv.slice(i + 1) };
    }
    seen++;
    stray ??= token;
  }
  // A command that declares positionals reads them itself (it may take any number); one that
  // declares none takes none.
  if (positionals === 0 && seen > 0) {
    throw new UsageError(`unexpected argument ${JSON.stringify(stray)} for \`${where}\` (it takes none)`);
  }
  return null;
}

/** Whether the token after a value flag is its value, rather than the next flag. */
function isValue(token: string | undefined, flags: Map<string, FlagSpec>): token is string {
  if (token === undefined) return false;
  if (token.startsWith("--")) return false;
  return !(token.length === 2 && token.startsWith("-") && (flags.has(token.slice(1)) || token === "-h"));
}

async function findSubCommand(subCommands: Record<string, Resolvable<CommandDef<any>>>, name: string): Promise<CommandDef<any> | null> {
  if (Object.hasOwn(subCommands, name)) return resolve(subCommands[name]!);
  for (const candidate of Object.values(subCommands)) {
    const command = await resolve(candidate);
    const meta = command.meta ? await resolve(command.meta) : undefined;
    const aliases = meta?.alias === undefined ? [] : Array.isArray(meta.alias) ? meta.alias : [meta.alias];
    if (aliases.includes(name)) return command;
  }
  return null;
}

/** The command the leading command names of `argv` select (for `--help`); other tokens are ignored. */
export async function commandNamed(root: CommandDef<any>, argv: readonly string[], rootName: string): Promise<ResolvedCommand> {
  let command = root;
  let parent: CommandDef<any> | undefined;
  const path = [rootName];
  for (const token of argv) {
    if (token.startsWith("-") || !command.subCommands) continue;
    const sub = await findSubCommand(await resolve(command.subCommands), token);
    if (!sub) continue;
    parent = command;
    command = sub;
    path.push(token);
  }
  return { command, parent, path };
}
