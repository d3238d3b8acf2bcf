import type { McpServer } from "@agentclientprotocol/sdk";
import type { BackendDefinition, ExecutionBackend, RunContext, RunOutput } from "../../core/ports/backend.ts";
import { environment } from "../../platform/environment.ts";
import { childEnv } from "../child-env.ts";
import { DEFAULT_KILL_GRACE_MS } from "../command.ts";
import { ProcessGroup } from "../process-group.ts";
import { WorkDirs } from "../work-dir.ts";
import { AgentHost, type HostOptions } from "./agent-host.ts";
import { OutputQueue } from "./output-queue.ts";
import {
  AcpSettings,
  DEFAULT_IDLE_SHUTDOWN_S,
  DEFAULT_PERMISSION_TIMEOUT_S,
  DEFAULT_STARTUP_TIMEOUT_S,
} from "./settings.ts";

export { AcpSettings } from "./settings.ts";

/**
 * Hosts an Agent Client Protocol agent (Claude Code, Codex, Gemini CLI, opencode… through their
 * ACP entry points) per worker: one long-lived process and session, a run per `session/prompt`.
 */
class AcpBackend implements ExecutionBackend {
  private readonly hosts = new Map<string, AgentHost>();
  private readonly workDirs: WorkDirs;
  private readonly options: HostOptions;

  constructor(profile: string, settings: AcpSettings, parentEnv: Record<string, string | undefined>) {
    this.workDirs = new WorkDirs(profile, settings.cwd, "yoi-runtime-acp-");
    this.options = {
      profile,
      argv: settings.command,
      env: childEnv(parentEnv, settings.env),
      workDirs: this.workDirs,
      startupTimeoutMs: Math.round((settings.startup_timeout_s ?? DEFAULT_STARTUP_TIMEOUT_S) * 1000),
      idleShutdownMs: Math.round((settings.idle_shutdown_s ?? DEFAULT_IDLE_SHUTDOWN_S) * 1000),
      killGraceMs: settings.kill_grace_ms ?? DEFAULT_KILL_GRACE_MS,
      permission: settings.permission ?? "ask",
      permissionTimeoutMs: Math.round((settings.permission_timeout_s ?? DEFAULT_PERMISSION_TIMEOUT_S) * 1000),
      // The settings schema is ACP's own shape of an MCP server.
      mcpServers: (settings.mcp_servers ?? []) as McpServer[],
    };
  }

  async *run(context: RunContext): AsyncIterable<RunOutput> {
    const worker_id = context.worker_ref.worker_id;
    let host = this.hosts.get(worker_id);
    if (!host) this.hosts.set(worker_id, (host = new AgentHost(this.options)));
    const outputs = new OutputQueue<RunOutput>();
    const turn = host.runTurn(context, outputs);
    try {
      yield* outputs;
    } finally {
      // Also reached when the runtime stops reading (cancel): the turn is over only once the agent stopped.
      await turn;
    }
  }

  async release(worker_id: string): Promise<void> {
    const host = this.hosts.get(worker_id);
    this.hosts.delete(worker_id);
    await host?.release();
  }

  async close(): Promise<void> {
    const hosts = [...this.hosts.values()];
    this.hosts.clear();
    await Promise.allSettled(hosts.map((host) => host.release()));
    await this.workDirs.close();
  }
}

export const acpBackend: BackendDefinition<AcpSettings> = {
  kind: "acp",
  settings: AcpSettings,
  create: (name, settings, env = environment()) => {
    ProcessGroup.reapOrphans(DEFAULT_KILL_GRACE_MS);
    return new AcpBackend(name, settings, env);
  },
};
