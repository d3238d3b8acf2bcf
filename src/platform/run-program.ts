import { execFile } from "node:child_process";
import { errnoCode } from "../shared/errors.ts";

export interface ProgramResult {
  /** The exit status; null when a signal ended the program. */
  code: number | null;
  stdout: string;
  stderr: string;
}

/** The program could not be started (not installed, not executable). */
export class ProgramNotFound extends Error {
  constructor(
    readonly program: string,
    readonly errno: string,
  ) {
    super(`could not start ${program}: ${errno}`);
    this.name = "ProgramNotFound";
  }
}

/**
 * Runs a short-lived helper program (argv, no shell) to completion and returns its status and
 * output. For tools such as `git` that the runtime drives itself, not for a worker's programs
 * (those run in their own process group, see execution/process-group.ts).
 */
export function runProgram(
  argv: readonly string[],
  options: { cwd?: string; env?: Record<string, string | undefined> } = {},
): Promise<ProgramResult> {
  const [program, ...args] = argv as [string, ...string[]];
  return new Promise((resolve, reject) => {
    execFile(
      program,
      args,
      { cwd: options.cwd, env: options.env, maxBuffer: 64 * 1024 * 1024, encoding: "utf8", windowsHide: true },
      (error, stdout, stderr) => {
        if (error && typeof (error as { code?: unknown }).code === "string") {
          reject(new ProgramNotFound(program, errnoCode(error) ?? "unknown"));
          return;
        }
        const code = error ? ((error as { code?: number | null }).code ?? null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}
