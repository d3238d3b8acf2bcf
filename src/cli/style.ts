import { environment, isTerminal } from "../platform/index.ts";

/**
 * Colour for human output: only on a terminal, never with `NO_COLOR` set (https://no-color.org)
 * or `TERM=dumb`, so piped output is plain text a script can read.
 */
export function colourOn(stream: "stdout" | "stderr"): boolean {
  const env = environment();
  return isTerminal(stream) && (env.NO_COLOR ?? "") === "" && env.TERM !== "dumb";
}

const SGR = { bold: [1, 22], dim: [2, 22], red: [31, 39], green: [32, 39], yellow: [33, 39], cyan: [36, 39] } as const;
export type Style = keyof typeof SGR;

/** `paint("red", text)` for a stream: the text wrapped in its colour, or unchanged where colour is off. */
export function painter(stream: "stdout" | "stderr"): (style: Style, text: string) => string {
  const on = colourOn(stream);
  return (style, text) => (on && text.length > 0 ? `\x1b[${SGR[style][0]}m${text}\x1b[${SGR[style][1]}m` : text);
}

const STATUS_STYLE: Record<string, Style> = {
  idle: "green",
  completed: "green",
  running: "cyan",
  failed: "red",
  unavailable: "red",
  error: "red",
  cancelled: "yellow",
  timed_out: "yellow",
  interrupted: "yellow",
  stopped: "yellow",
  warning: "yellow",
};

/** The colour a status is shown in: green when it went well, red when it failed, yellow in between. */
export const statusStyle = (status: string): Style | null => STATUS_STYLE[status] ?? null;

const ANSI_SGR = /\x1b\[[0-9;]*m/g;

/** Visible length of a cell: colour codes take no columns. */
export const visibleLength = (text: string): number => text.replace(ANSI_SGR, "").length;

export const stripAnsi = (text: string): string => text.replace(ANSI_SGR, "");
