import type { ConsolaInstance } from "consola";
import type { RuntimeLogger } from "../core/ports/logger.ts";
import type { LogFormat, LogLevel } from "../config/schema.ts";
import { write as writeOut } from "../platform/index.ts";

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stderr by default, so stdout stays clean for a command's output. */
  write?: (line: string) => void;
}

type Level = "debug" | "info" | "warn" | "error";
/** consola's level numbers: a line is written when its level is at most the configured one. */
const RANK: Record<LogLevel, number> = { silent: Number.NEGATIVE_INFINITY, error: 0, warn: 1, info: 3, debug: 4 };

/**
 * A `RuntimeLogger`: `json` writes one object per line (`time`, `level`, `msg`, then the fields),
 * `pretty` writes consola's human format with the fields as `key=value` (plain `time level text`
 * lines when `write` is given). Neither logs anything the caller did not pass: the server and core
 * never pass tokens or input content. consola (and the node:tty it loads) is imported only for
 * the pretty format on a terminal: a JSON log needs none of it at start-up (issue 16).
 */
export async function createLogger(options: LoggerOptions): Promise<RuntimeLogger> {
  const write = options.write ?? ((line: string) => void writeOut("stderr", line));
  const max = RANK[options.level];
  if (options.format === "json") {
    return levels(max, (level, message, fields) => write(jsonLine(level, message, fields)));
  }
  const text = (message: string, fields?: Record<string, unknown>) =>
    fields && Object.keys(fields).length > 0 ? `${message} ${keyValues(fields)}` : message;
  if (options.write) {
    return levels(max, (level, message, fields) => write(`${new Date().toISOString()} ${level} ${text(message, fields)}\n`));
  }
  const consola = await prettyConsola(options.level);
  return levels(max, (level, message, fields) => consola[level](text(message, fields)));
}

/** The four methods over one writer, each dropping what is above the configured level. */
function levels(max: number, emit: (level: Level, message: string, fields?: Record<string, unknown>) => void): RuntimeLogger {
  const at = (level: Level) => (RANK[level] > max ? () => {} : (message: string, fields?: Record<string, unknown>) => emit(level, message, fields));
  return { debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function jsonLine(level: Level, message: string, fields: Record<string, unknown> = {}): string {
  const line: Record<string, unknown> = { time: new Date().toISOString(), level, msg: String(message) };
  for (const [key, value] of Object.entries(fields)) if (!(key in line)) line[key] = value;
  return `${JSON.stringify(line, jsonSafe)}\n`;
}

async function prettyConsola(level: LogLevel): Promise<ConsolaInstance> {
  const { createConsola, LogLevels } = await import("consola");
  // `fancy` exists on consola's Node build, which Bun and Deno load; TypeScript's bundler
  // resolution sees the browser build's types, hence the widened options type.
  return createConsola({
    level: LogLevels[level],
    // Consola folds repeated identical lines into "(repeated N times)" after a delay; a server
    // log must show every request and failure as it happens.
    throttle: 0,
    fancy: true,
    // Consola sends info and debug to stdout; every log line belongs on stderr.
    stdout: process.stderr,
    stderr: process.stderr,
  } as Parameters<typeof createConsola>[0]);
}

function keyValues(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([key, value]) => {
      if (typeof value !== "string") return `${key}=${JSON.stringify(value, jsonSafe)}`;
      return `${key}=${/^[^\s"=]+$/.test(value) ? value : JSON.stringify(value)}`;
    })
    .join(" ");
}

/** Errors and bigints would otherwise serialise as `{}` or throw. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) return value.message;
  return value;
}
