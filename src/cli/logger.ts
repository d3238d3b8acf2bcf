import { createConsola, LogLevels, type ConsolaInstance, type ConsolaReporter, type LogObject } from "consola";
import type { RuntimeLogger } from "../core/ports/logger.ts";
import type { LogFormat, LogLevel } from "../config/schema.ts";
import { write as writeOut } from "../platform/index.ts";

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Where lines go; stderr by default, so stdout stays clean for a command's output. */
  write?: (line: string) => void;
}

const CONSOLA_LEVEL: Record<LogLevel, number> = {
  silent: LogLevels.silent,
  error: LogLevels.error,
  warn: LogLevels.warn,
  info: LogLevels.info,
  debug: LogLevels.debug,
};

type Level = "debug" | "info" | "warn" | "error";
const LEVEL_OF_TYPE: Record<string, Level> = { fatal: "error", error: "error", warn: "warn", debug: "debug", trace: "debug" };

/**
 * A `RuntimeLogger` over consola: `json` writes one object per line (`time`, `level`, `msg`, then
 * the fields), `pretty` writes consola's human format with the fields as `key=value`. Neither
 * logs anything the caller did not pass: the server and core never pass tokens or input content.
 */
export function createLogger(options: LoggerOptions): RuntimeLogger {
  const write = options.write ?? ((line: string) => void writeOut("stderr", line));
  // `fancy` exists on consola's Node build, which Bun and Deno load; TypeScript's bundler
  // resolution sees the browser build's types, hence the widened options type.
  const consola = createConsola({
    level: CONSOLA_LEVEL[options.level],
    // Consola folds repeated identical lines into "(repeated N times)" after a delay; a server
    // log must show every request and failure as it happens.
    throttle: 0,
    fancy: options.format === "pretty",
    // Consola sends info and debug to stdout; every log line belongs on stderr.
    stdout: process.stderr,
    stderr: process.stderr,
    ...(options.format === "json" || options.write ? { reporters: [options.format === "json" ? jsonReporter(write) : plainReporter(write)] } : {}),
  } as Parameters<typeof createConsola>[0]);
  return adapter(consola, options.format, CONSOLA_LEVEL[options.level]);
}

const IGNORED = (): void => {};

function adapter(consola: ConsolaInstance, format: LogFormat, threshold: number): RuntimeLogger {
  // A level below the threshold is a no-op here rather than in consola, which would first build
  // its log object: the server writes a debug line per request.
  const log = (level: Level) =>
    LogLevels[level] > threshold
      ? IGNORED
      : (message: string, fields?: Record<string, unknown>): void => {
          if (format === "json") consola[level](message, fields ?? {});
          else consola[level](fields && Object.keys(fields).length > 0 ? `${message} ${keyValues(fields)}` : message);
        };
  return { debug: log("debug"), info: log("info"), warn: log("warn"), error: log("error") };
}

function jsonReporter(write: (line: string) => void): ConsolaReporter {
  return {
    log(entry: LogObject) {
      const [message, fields] = entry.args as [unknown, Record<string, unknown> | undefined];
      const line: Record<string, unknown> = {
        time: entry.date.toISOString(),
        level: LEVEL_OF_TYPE[entry.type] ?? "info",
        msg: String(message),
      };
      for (const [key, value] of Object.entries(fields ?? {})) if (!(key in line)) line[key] = value;
      write(`${JSON.stringify(line, jsonSafe)}\n`);
    },
  };
}

/** Pretty format without consola's terminal decoration, for a custom `write` (tests, pipes). */
function plainReporter(write: (line: string) => void): ConsolaReporter {
  return {
    log(entry: LogObject) {
      write(`${entry.date.toISOString()} ${LEVEL_OF_TYPE[entry.type] ?? "info"} ${entry.args.map(String).join(" ")}\n`);
    },
  };
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
