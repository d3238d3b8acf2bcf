import { defineCommand } from "citty";
import { unwrap, type RuntimeSummary } from "../../client/index.ts";
import { clientFlags, clientFromArgs, jsonFlag } from "./connect.ts";
import { dash, keyValues, out, paint, printJson, status, table, when } from "./format.ts";

export const statusCommand = defineCommand({
  meta: { name: "status", description: "Show the runtime's summary: identity, store, worker counts, active runs, profiles" },
  args: { ...jsonFlag, ...clientFlags },
  run: async ({ args }) => {
    const { runtime } = await unwrap(clientFromArgs(args).v1.runtime.get());
    if (args.json) await printJson(runtime);
    else await out(summaryText(runtime));
  },
});

export const profilesCommand = defineCommand({
  meta: { name: "profiles", description: "List the runtime's profiles: backend, capabilities, which one is the default" },
  args: { ...jsonFlag, ...clientFlags },
  run: async ({ args }) => {
    const { runtime } = await unwrap(clientFromArgs(args).v1.runtime.get());
    if (args.json) {
      await printJson(runtime.profiles);
      return;
    }
    const rows = runtime.profiles.map((profile) => [
      profile.name,
      profile.backend,
      profile.is_default ? paint("green", "yes") : "",
      profile.capabilities.length > 0 ? profile.capabilities.join(", ") : "-",
    ]);
    await out(table(["PROFILE", "BACKEND", "DEFAULT", "CAPABILITIES"], rows));
  },
});

function summaryText(runtime: RuntimeSummary): string {
  const { workers } = runtime;
  const counts = (["idle", "running", "stopped", "unavailable"] as const)
    .filter((state) => workers[state] > 0)
    .map((state) => `${workers[state]} ${status(state)}`);
  return keyValues([
    ["runtime", runtime.runtime_id],
    ["display_name", runtime.display_name],
    ["status", status(runtime.status)],
    ["version", runtime.version],
    ["started", when(runtime.started_at)],
    ["store", runtime.store],
    ["workers", `${workers.total}${counts.length > 0 ? ` (${counts.join(", ")})` : ""}`],
    ["active_runs", String(runtime.active_runs)],
    ["diagnostics", String(runtime.diagnostic_count)],
    ["last_event", `#${runtime.last_event_id}`],
    ["default_profile", runtime.default_profile],
    ["profiles", dash(runtime.profiles.map((profile) => profile.name).join(", "))],
    ["capabilities", runtime.capabilities.length > 0 ? runtime.capabilities.join(", ") : null],
  ]);
}
