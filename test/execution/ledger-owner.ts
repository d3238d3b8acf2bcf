/**
 * A runtime stand-in for the group-ledger tests: notes one detached process group (a shell and its
 * background child) in a ledger at argv[2] that never files a per-group note, so only its
 * append-only log records it; prints the group id once the log holds it, then waits to be killed.
 */
import { spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { GroupLedger } from "../../src/execution/group-ledger.ts";
import { until } from "../support/wait.ts";

const dir = process.argv[2]!;
const ledger = new GroupLedger(dir, { fileAfterMs: Number.POSITIVE_INFINITY, compactAfterRecords: 10_000 });
const child = spawn("/bin/sh", ["-c", "sleep 120 & sleep 120"], { detached: true, stdio: "ignore" });
const pgid = child.pid!;
ledger.note(pgid);
const logged = () =>
  readdirSync(dir)
    .filter((name) => name.endsWith(".log"))
    .some((name) => readFileSync(join(dir, name), "utf8").split("\n").some((line) => line.startsWith(`+${pgid} `)));
await until(logged, "the group to be in the log");
console.log(pgid);
await new Promise(() => {});
