import type {
  AuthMethod,
  ClientConnection,
  McpServer,
  RequestPermissionRequest,
  RequestPermissionResponse,
  SessionNotification,
} from "@agentclientprotocol/sdk";
import type { PermissionPolicy } from "../../core/schema/agent.ts";
import { VERSION } from "../../version.ts";
import { BackendError, type PermissionOutcome, type RunContext, type RunOutput } from "../../core/ports/backend.ts";
import { SpawnError } from "../process-group.ts";
import type { WorkDirs } from "../work-dir.ts";
import { AgentProcess } from "./agent-process.ts";
import type { OutputQueue } from "./output-queue.ts";
import { guardedStream } from "./protocol-guard.ts";
import { loadAcpSdk, type AcpSdk } from "./sdk.ts";
import { TurnUpdates } from "./updates.ts";

/** JSON-RPC error code ACP uses for "authentication required". */
const AUTH_REQUIRED = -32000;

export interface HostOptions {
  profile: string;
  argv: readonly string[];
  /** The inherited allowlist plus the profile's `env`; the YOI_* variables are added per worker. */
  env: Record<string, string>;
  workDirs: WorkDirs;
  startupTimeoutMs: number;
  idleShutdownMs: number;
  killGraceMs: number;
  permission: PermissionPolicy;
  permissionTimeoutMs: number;
  mcpServers: McpServer[];
}

/** A started agent with an open session. */
interface Agent {
  process: AgentProcess;
  connection: ClientConnection;
  sessionId: string;
  authMethods: AuthMethod[];
  /** The first protocol violation seen; the process is being ended. */
  violation: string | null;
}

/** The prompt in flight: where its updates go and the permission requests it still waits on. */
interface Turn {
  sessionId: string;
  out: OutputQueue<RunOutput>;
  updates: TurnUpdates;
  asks: Set<(outcome: PermissionOutcome) => void>;
}

class StartTimeout extends Error {}

/**
 * One worker's agent: a long-lived process with one ACP session, started on the first run and
 * again after a crash, a kill or an idle shutdown (then the session is loaded back when the agent
 * can, else replaced with a `session_lost` diagnostic). A run is one `session/prompt`.
 */
export class AgentHost {
  private agent: Agent | null = null;
  private turn: Turn | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private asked = 0;
  private sdk: AcpSdk | null = null;

  constructor(private readonly options: HostOptions) {}

  /** Runs one prompt, pushing its outputs to `out`, which it ends (or fails) when the turn is over. Never throws. */
  async runTurn(context: RunContext, out: OutputQueue<RunOutput>): Promise<void> {
    this.cancelIdleShutdown();
    try {
      this.sdk ??= await loadAcpSdk();
      const agent = this.agent ?? (await this.start(this.sdk, context, out));
      if (agent) await this.prompt(this.sdk, agent, context, out);
      out.end();
    } catch (error) {
      out.fail(error);
    } finally {
      this.scheduleIdleShutdown();
    }
  }

  /** Ends the agent process (stop, delete, shutdown); the next run starts a new one. */
  async release(): Promise<void> {
    this.cancelIdleShutdown();
    const agent = this.agent;
    this.agent = null;
    if (agent) await this.end(agent);
  }

  // ---------------------------------------------------------------- start-up

  /** Starts the agent and opens its session; null when the run was aborted meanwhile. */
  private async start(sdk: AcpSdk, context: RunContext, out: OutputQueue<RunOutput>): Promise<Agent | null> {
    const { options } = this;
    const { methods } = sdk;
    const cwd = await options.workDirs.of(context);
    const env: Record<string, string> = {
      ...options.env,
      YOI_RUNTIME_ID: context.worker_ref.runtime_id,
      YOI_WORKER_ID: context.worker_ref.worker_id,
      YOI_WORKSPACE: cwd,
    };
    if (context.session_id !== null) env.YOI_SESSION_ID = context.session_id;
    let agentProcess: AgentProcess;
    try {
      agentProcess = await AgentProcess.start(options.argv, { cwd, env, killGraceMs: options.killGraceMs });
    } catch (error) {
      if (error instanceof SpawnError) {
        throw new BackendError("spawn_failed", error.message, { program: error.program, errno: error.errno });
      }
      throw error;
    }
    // Violations are only reported once messages flow, after `agent` is assigned.
    let agent!: Agent;
    const stream = guardedStream(sdk, agentProcess.output, agentProcess.input, (what) => {
      if (agent.violation !== null) return;
      agent.violation = what;
      void this.end(agent);
    });
    const connection = sdk
      .client({ name: "yoi-runtime" })
      .onNotification(methods.client.session.update, ({ params }) => this.onUpdate(params))
      .onRequest(methods.client.session.requestPermission, ({ params }) => this.onPermission(params))
      .connect(stream);
    agent = { process: agentProcess, connection, sessionId: "", authMethods: [], violation: null };
    void agentProcess.exited.then(() => {
      agent.connection.close(new Error("the agent process exited"));
      if (this.agent === agent) this.agent = null;
    });

    let timer: ReturnType<typeof setTimeout> | undefined;
    let onAbort: (() => void) | undefined;
    const limits = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new StartTimeout()), options.startupTimeoutMs);
      onAbort = () => reject(context.signal.reason);
      context.signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      await Promise.race([this.openSession(sdk, agent, context, cwd, out), limits]);
    } catch (error) {
      const failure = context.signal.aborted ? null : await this.failure(sdk, agent, error, "start");
      await this.end(agent);
      if (failure) throw failure;
      return null;
    } finally {
      clearTimeout(timer);
      context.signal.removeEventListener("abort", onAbort!);
    }
    this.agent = agent;
    return agent;
  }

  /** `initialize` with honest capabilities (no file system, no terminal), then `session/load` or `session/new`. */
  private async openSession(sdk: AcpSdk, agent: Agent, context: RunContext, cwd: string, out: OutputQueue<RunOutput>): Promise<void> {
    const { methods, PROTOCOL_VERSION, RequestError } = sdk;
    const peer = agent.connection.agent;
    const init = await peer.request(methods.agent.initialize, {
      protocolVersion: PROTOCOL_VERSION,
      clientCapabilities: { fs: { readTextFile: false, writeTextFile: false }, terminal: false },
      clientInfo: { name: "yoi-runtime", version: VERSION },
    });
    if (init.protocolVersion !== PROTOCOL_VERSION) {
      throw new BackendError(
        "protocol_error",
        `the agent speaks ACP version ${init.protocolVersion}; this runtime speaks version ${PROTOCOL_VERSION}`,
        { agent_protocol_version: init.protocolVersion },
      );
    }
    agent.authMethods = init.authMethods ?? [];
    const previous = context.session_id;
    const mcpServers = this.options.mcpServers;
    let lost: string | null = null;
    if (previous !== null && init.agentCapabilities?.loadSession === true) {
      try {
        // Replayed history arrives as session/update before the answer; no turn is open, so none of it is stored again.
        await peer.request(methods.agent.session.load, { sessionId: previous, cwd, mcpServers });
        agent.sessionId = previous;
        return;
      } catch (error) {
        if (!(error instanceof RequestError) || error.code === AUTH_REQUIRED) throw error;
        lost = `session/load failed: ${error.message}`;
      }
    } else if (previous !== null) {
      lost = "the agent cannot load sessions (it does not advertise loadSession)";
    }
    const created = await peer.request(methods.agent.session.new, { cwd, mcpServers });
    agent.sessionId = created.sessionId;
    out.push({ type: "session", session_id: created.sessionId });
    if (lost !== null) {
      out.push({
        type: "diagnostic",
        code: "session_lost",
        message: `the agent's session ${previous} could not be resumed (${lost}); session ${created.sessionId} replaces it without the earlier context`,
        details: { previous_session_id: previous, session_id: created.sessionId },
      });
    }
  }

  // ---------------------------------------------------------------- one turn

  private async prompt(sdk: AcpSdk, agent: Agent, context: RunContext, out: OutputQueue<RunOutput>): Promise<void> {
    if (context.signal.aborted) return;
    const { methods } = sdk;
    const turn: Turn = { sessionId: agent.sessionId, out, updates: new TurnUpdates(), asks: new Set() };
    this.turn = turn;
    let killTimer: ReturnType<typeof setTimeout> | undefined;
    let killing: Promise<void> | null = null;
    const onAbort = () => {
      // ACP: a cancelled turn's pending permission requests are answered `cancelled`.
      for (const answer of [...turn.asks]) answer({ outcome: "cancelled" });
      void agent.connection.agent.notify(methods.agent.session.cancel, { sessionId: agent.sessionId }).catch(() => {});
      // An agent that does not end the turn within the grace is ended with its whole group.
      killTimer = setTimeout(() => (killing = this.end(agent)), this.options.killGraceMs);
    };
    context.signal.addEventListener("abort", onAbort, { once: true });
    try {
      const response = await agent.connection.agent.request(methods.agent.session.prompt, {
        sessionId: agent.sessionId,
        prompt: [{ type: "text", text: context.input }],
        // The agent process outlives its runs, so the per-run values a command gets as YOI_RUN_ID
        // and YOI_RUN_NUMBER come with each prompt instead (docs/acp.md).
        _meta: promptMeta(context),
      });
      await notificationsHandled();
      out.push({ type: "stop_reason", stop_reason: response.stopReason });
    } catch (error) {
      if (context.signal.aborted) {
        // Cut off by the kill after the grace (or gone by itself): the run ends cancelled once
        // the group is gone. An agent that answered the cancelled prompt with an error lives on.
        if (killing) await killing;
        else if (agent.connection.signal.aborted) await this.end(agent);
        return;
      }
      throw await this.failure(sdk, agent, error, "prompt");
    } finally {
      clearTimeout(killTimer);
      context.signal.removeEventListener("abort", onAbort);
      for (const answer of [...turn.asks]) answer({ outcome: "cancelled" });
      this.turn = null;
    }
  }

  private onUpdate(notification: SessionNotification): void {
    const turn = this.turn;
    // Updates outside a turn (history replayed by session/load, late ones) belong to no run.
    if (!turn || notification.sessionId !== turn.sessionId) return;
    for (const output of turn.updates.outputsOf(notification.update)) turn.out.push(output);
  }

  private onPermission(request: RequestPermissionRequest): Promise<RequestPermissionResponse> {
    const turn = this.turn;
    if (!turn || request.sessionId !== turn.sessionId) return Promise.resolve({ outcome: { outcome: "cancelled" } });
    const call = turn.updates.toolCall(request.toolCall);
    return new Promise((resolve) => {
      const answer = (outcome: PermissionOutcome) => {
        if (!turn.asks.delete(answer)) return;
        resolve({
          outcome: outcome.outcome === "selected" ? { outcome: "selected", optionId: outcome.option_id } : { outcome: "cancelled" },
        });
      };
      turn.asks.add(answer);
      turn.out.push({
        type: "permission",
        request_id: `permission-${++this.asked}`,
        tool_call: { tool_call_id: call.tool_call_id, title: call.title, kind: call.kind },
        options: request.options.map((option) => ({ option_id: option.optionId, name: option.name, kind: option.kind })),
        policy: this.options.permission,
        timeout_ms: this.options.permissionTimeoutMs,
        answer,
      });
    });
  }

  // ---------------------------------------------------------------- failures and ending

  /** The run error for a failed start-up or prompt; ends the agent unless it is still usable. */
  private async failure(sdk: AcpSdk, agent: Agent, error: unknown, during: "start" | "prompt"): Promise<BackendError> {
    const { RequestError } = sdk;
    if (error instanceof BackendError) {
      await this.end(agent);
      return error;
    }
    if (agent.violation !== null) {
      await this.end(agent);
      return new BackendError("protocol_error", `${agent.violation}; the agent was stopped`, this.stderrDetails(agent));
    }
    if (error instanceof StartTimeout) {
      return new BackendError(
        "agent_start_timeout",
        `the agent did not answer initialize and session/new within startup_timeout_s (${this.options.startupTimeoutMs / 1000}s)`,
        this.stderrDetails(agent),
      );
    }
    if (error instanceof RequestError && error.code === AUTH_REQUIRED) {
      const auth_methods = agent.authMethods.map((method) => ({ id: method.id, name: method.name, description: method.description ?? null }));
      await this.end(agent);
      return new BackendError(
        "agent_auth_required",
        `the agent requires authentication (${auth_methods.map((m) => m.id).join(", ") || "no method offered"}); log it in outside the runtime, then retry`,
        { auth_methods },
      );
    }
    if (error instanceof RequestError) {
      // The agent answered with an error: it still runs and the session is intact, unless it failed to open.
      if (during === "start") await this.end(agent);
      return new BackendError("agent_error", `the agent answered the ${during === "start" ? "session set-up" : "prompt"} with an error: ${error.message}`, {
        rpc_code: error.code,
      });
    }
    if (agent.connection.signal.aborted) {
      await this.end(agent);
      const status = await agent.process.exited;
      const how = status.code !== null ? `with status ${status.code}` : `by ${status.signal ?? "a signal"}`;
      return new BackendError("agent_exited", `the agent exited ${how} during the ${during === "start" ? "start-up" : "run"}`, {
        exit_code: status.code,
        signal: status.signal,
        ...this.stderrDetails(agent),
      });
    }
    // An answer the SDK could not accept (a result of the wrong shape).
    await this.end(agent);
    return new BackendError("protocol_error", `the agent's answer broke the protocol: ${error instanceof Error ? error.message : String(error)}`);
  }

  private stderrDetails(agent: Agent): { stderr_tail: string } {
    return { stderr_tail: agent.process.stderrTail() };
  }

  private end(agent: Agent): Promise<void> {
    if (this.agent === agent) this.agent = null;
    agent.connection.close(new Error("the agent was stopped"));
    return agent.process.terminate();
  }

  private scheduleIdleShutdown(): void {
    this.cancelIdleShutdown();
    if (!this.agent || this.turn) return;
    const agent = this.agent;
    this.idleTimer = setTimeout(() => void this.end(agent), this.options.idleShutdownMs);
    // An idle agent must not keep a library user's process alive.
    (this.idleTimer as { unref?: () => void }).unref?.();
  }

  private cancelIdleShutdown(): void {
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimer = null;
  }
}

/**
 * The SDK resolves a request as soon as its response is read, while notifications read before
 * it may still be in their handlers (a chain of promise callbacks, no I/O). They all finish
 * before the next macrotask, so waiting for one keeps a turn's last chunks before its end.
 */
function notificationsHandled(): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/**
 * `_meta` of a `session/prompt`: the run it belongs to, under the `yoi` key (ACP reserves `_meta`
 * for such extensions). The same values as the YOI_RUN_ID / YOI_RUN_NUMBER of a command run.
 */
export function promptMeta(context: Pick<RunContext, "run_id" | "run_number">): { yoi: { run_id: string; run_number: number } } {
  return { yoi: { run_id: context.run_id, run_number: context.run_number } };
}
