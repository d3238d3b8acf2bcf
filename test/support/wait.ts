/**
 * Waiting in tests without timing assumptions: a test waits for the condition it needs (a file's
 * complete content, a status, a log line), never for a fixed time. The deadline is only a
 * generous upper bound that turns a hang into a failure naming what never happened.
 */

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Polls `condition` until it holds; fails naming `what` after `timeoutMs`. */
export async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(5);
  }
}

/**
 * Resolves after a few full turns of the event loop: every promise job and I/O callback queued
 * so far (and those they queue in turn) has run. For asserting that something is still pending
 * without guessing how long it would take.
 */
export async function eventLoopIdle(turns = 10): Promise<void> {
  for (let turn = 0; turn < turns; turn++) await new Promise<void>((resolve) => setImmediate(resolve));
}
