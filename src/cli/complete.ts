import type { ArgsDef, CommandDef, Resolvable } from "citty";
import { environment } from "../platform/index.ts";
import { TOKEN_ENV, URL_ENV } from "./client-env.ts";

const resolve = async <T>(value: Resolvable<T>): Promise<T> =>
  typeof value === "function" ? await (value as () => T | Promise<T>)() : await value;

/** How long completion waits for the runtime's worker list before offering none. */
const WORKER_LOOKUP_MS = 1_000;

/**
 * Candidates for the last of `words` (the command line after the program name, the word being
 * completed last, possibly empty): subcommands, flags, a flag's listed values (`a|b|c` in its
 * hint), and worker ids from the running runtime where a worker is expected. Files are left to
 * the shell (no candidates).
 */
export async function completions(root: CommandDef<any>, words: readonly string[]): Promise<string[]> {
  const current = words.at(-1) ?? "";
  let command = root;
  let args: ArgsDef = (await resolve(command.args ?? {})) ?? {};
  let positionals = 0;
  let pendingFlag: string | null = null;
  const given = new Map<string, string>();
  for (const token of words.slice(0, -1)) {
    if (pendingFlag !== null) {
      given.set(pendingFlag, token);
      pendingFlag = null;
      continue;
    }
    if (token.startsWith("-")) {
      const [name, value] = token.replace(/^-+/, "").split("=", 2) as [string, string | undefined];
      if (value !== undefined) given.set(name, value);
      else if (args[name]?.type === "string") pendingFlag = name;
      continue;
    }
    const subCommands = command.subCommands ? await resolve(command.subCommands) : undefined;
    if (subCommands && Object.hasOwn(subCommands, token) && positionals === 0) {
      command = await resolve(subCommands[token]!);
      args = (await resolve(command.args ?? {})) ?? {};
      continue;
    }
    positionals++;
  }
  const matching = (candidates: Iterable<string>) => [...candidates].filter((candidate) => candidate.startsWith(current));

  if (pendingFlag !== null) {
    const hint = (args[pendingFlag] as { valueHint?: string } | undefined)?.valueHint ?? "";
    if (pendingFlag === "worker") return matching(await workerIds(given));
    return hint.includes("|") ? matching(hint.split("|")) : [];
  }
  if (current.startsWith("-")) {
    return matching(Object.entries(args).filter(([, def]) => def.type !== "positional").map(([name]) => `--${name}`));
  }
  const subCommands = command.subCommands ? await resolve(command.subCommands) : undefined;
  if (subCommands) {
    const names: string[] = [];
    for (const [name, sub] of Object.entries(subCommands)) {
      const meta = await resolve((await resolve(sub)).meta ?? {});
      if (!meta.hidden) names.push(name);
    }
    return matching(names);
  }
  const positional = Object.values(args).filter((def) => def.type === "positional")[positionals] as { valueHint?: string } | undefined;
  if (positional?.valueHint === "WORKER") return matching(await workerIds(given));
  return [];
}

/** Worker ids of the runtime the command line (or the environment) points at; none if it does not answer quickly. */
async function workerIds(given: Map<string, string>): Promise<string[]> {
  const env = environment();
  const url = (given.get("url") ?? env[URL_ENV] ?? "http://127.0.0.1:38800").replace(/\/+$/, "");
  const tokenEnv = given.get("token-env");
  const token = (tokenEnv === undefined ? env[TOKEN_ENV] : env[tokenEnv])?.trim();
  try {
    const response = await fetch(`${url}/v1/workers?limit=500`, {
      headers: token ? { authorization: `Bearer ${token}` } : {},
      signal: AbortSignal.timeout(WORKER_LOOKUP_MS),
    });
    if (!response.ok) return [];
    const body = (await response.json()) as { workers?: Array<{ worker_ref?: { worker_id?: unknown } }> };
    return (body.workers ?? []).map((worker) => worker.worker_ref?.worker_id).filter((id): id is string => typeof id === "string");
  } catch {
    return [];
  }
}
