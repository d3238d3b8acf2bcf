import { describe, expect, test } from "bun:test";
import { RuntimeError } from "../../src/index.ts";
import { activeOf, isActive, restoredState, statusOf, transition, type RunMove, type RunState } from "../../src/core/run-state.ts";
import type { Ack } from "../../src/index.ts";

// The §5 state machine on its own: every state against every move, legal and illegal.

const ack: Ack = { worker_ref: { runtime_id: "rt", worker_id: "w" }, status: "stopped", run_id: null, transcript_sequence: null, event_id: 1 };
const stopped = Promise.resolve(ack);
const RUN = "r-1";

const states: Record<string, RunState<string>> = {
  idle: { status: "idle" },
  running: { status: "running", active: RUN },
  "stopping (run ending)": { status: "stopping", active: RUN, stopped },
  "stopping (no run)": { status: "stopping", active: null, stopped },
  stopped: { status: "stopped" },
};

const moves: Record<string, RunMove<string>> = {
  start_run: { type: "start_run", active: RUN },
  end_run: { type: "end_run" },
  stop: { type: "stop", stopped },
  stop_recorded: { type: "stop_recorded" },
  restore: { type: "restore" },
};

/** The table (SPEC §5): from → move → to; a missing cell is an illegal move. */
const table: Record<string, Partial<Record<string, RunState<string>>>> = {
  idle: { start_run: states.running, stop: states["stopping (no run)"] },
  running: { end_run: states.idle, stop: states["stopping (run ending)"] },
  "stopping (run ending)": { end_run: states["stopping (no run)"] },
  "stopping (no run)": { stop_recorded: states.stopped },
  stopped: { restore: states.idle },
};

describe("worker state machine (§5)", () => {
  for (const [fromName, from] of Object.entries(states)) {
    for (const [moveName, move] of Object.entries(moves)) {
      const expected = table[fromName]![moveName];
      if (expected) {
        test(`${fromName} --${moveName}--> ${expected.status}`, () => {
          const to = transition(from, move);
          expect(to).toEqual(expected);
          // A stop keeps the promise every later stop caller awaits.
          if (to.status === "stopping") expect(to.stopped).toBe(stopped);
          // Moves build a new state; the old one is never edited.
          expect(to).not.toBe(from);
        });
      } else {
        test(`${fromName} --${moveName}--> refused`, () => {
          const before = structuredClone({ ...from, stopped: undefined });
          let thrown: unknown;
          try {
            transition(from, move);
          } catch (error) {
            thrown = error;
          }
          expect(thrown).toBeInstanceOf(RuntimeError);
          expect((thrown as RuntimeError).code).toBe("internal");
          expect((thrown as RuntimeError).message).toContain(moveName);
          expect({ ...from, stopped: undefined }).toEqual(before);
        });
      }
    }
  }

  test("every state has at least one way out, and stopped is left only by restore", () => {
    for (const name of Object.keys(states)) expect(Object.keys(table[name]!).length).toBeGreaterThan(0);
    expect(Object.keys(table.stopped!)).toEqual(["restore"]);
  });

  test("a stop in progress shows the status it stops; only running and stopping are active", () => {
    expect(Object.values(states).map(statusOf)).toEqual(["idle", "running", "running", "idle", "stopped"]);
    expect(Object.values(states).map(isActive)).toEqual([false, true, true, true, false]);
    expect(Object.values(states).map(activeOf)).toEqual([null, RUN, RUN, null, null]);
  });

  test("a restart restores stopped as stopped and anything else as idle (the run it had was interrupted)", () => {
    expect(restoredState("stopped")).toEqual({ status: "stopped" });
    expect(restoredState("running")).toEqual({ status: "idle" });
    expect(restoredState("idle")).toEqual({ status: "idle" });
  });
});
