/**
 * A scriptable ACP agent for tests, built with the SDK's agent side and run as a real subprocess
 * (`bun test/execution/fake-acp-agent.ts [flags]`).
 *
 * Flags (the agent as a whole):
 *   --load-session      advertise loadSession; sessions persist in --state DIR and are replayed on load
 *   --state DIR         where sessions are kept across processes (one JSON file per session)
 *   --auth              advertise an auth method and refuse session/new with "authentication required"
 *   --ignore-cancel     do not end a turn on session/cancel
 *   --hang-init         never answer initialize
 *   --log FILE          append one JSON line per received request/notification: {method, sessionId, pid, ...}
 *                       (a session/prompt's `_meta` as `meta`)
 *
 * A prompt whose text starts with `[` is a JSON list of steps, run in order; any other prompt is
 * answered with the chunk `echo: <text>`. Steps:
 *   {"chunk": "text"} {"thought": "text"} {"plan": [{content, priority, status}]}
 *   {"tool": {id, title, kind, status, rawInput?, locations?}}  a tool_call
 *   {"update": {id, status?, rawOutput?, title?}}               a tool_call_update
 *   {"ask": {id, title, kind}}  request permission (allow/reject options); then the chunk `permission: <outcome>`
 *   {"wait_cancel": true}       wait until session/cancel (forever with --ignore-cancel)
 *   {"sleep_ms": n} {"stop": "max_tokens"} {"exit": code} {"stderr": "text"}
 *   {"garbage": "text"}         write a raw line that is not JSON-RPC to stdout
 *   {"stray_response": true}    answer a request id the client never used
 *   {"grandchild": "pid file"}  start a background `sleep` in the agent's group, write its pid
 *   {"whoami": true}            the chunk `<pid> <sessionId> <turn number in this session>`
 *   {"env": ["NAME", …]}        the chunk `{"NAME": value or null, …}` of the agent's environment
 *   {"stamped": n, "every_ms": m}  n chunks `T<epoch ms, fractional>;`, each stamped as it is sent, m ms apart (benchmarks)
 */
import { agent, methods, ndJsonStream, RequestError, type RequestPermissionResponse, type SessionNotification } from "@agentclientprotocol/sdk";
import { spawn } from "node:child_process";
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";

const args = process.argv.slice(2);
const flag = (name: string) => args.includes(name);
const option = (name: string) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const stateDir = option("--state");
const logFile = option("--log");
if (stateDir) mkdirSync(stateDir, { recursive: true });

interface Session {
  id: string;
  turns: number;
  history: { role: "user" | "agent"; text: string }[];
}
const sessions = new Map<string, Session>();
const cancelled = new Set<string>();
const cancelWaiters = new Map<string, () => void>();
const stdoutWriter = Writable.toWeb(process.stdout) as unknown as WritableStream<Uint8Array>;
let rawWrite: ((line: string) => Promise<void>) | null = null;

function log(method: string, sessionId?: string, extra: Record<string, unknown> = {}): void {
  if (logFile) appendFileSync(logFile, JSON.stringify({ method, sessionId: sessionId ?? null, pid: process.pid, ...extra }) + "\n");
}

function save(session: Session): void {
  if (stateDir) writeFileSync(join(stateDir, `${session.id}.json`), JSON.stringify(session));
}

function load(id: string): Session | null {
  const existing = sessions.get(id);
  if (existing) return existing;
  if (!stateDir || !existsSync(join(stateDir, `${id}.json`))) return null;
  const session = JSON.parse(readFileSync(join(stateDir, `${id}.json`), "utf8")) as Session;
  sessions.set(id, session);
  return session;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Step = Record<string, any>;

const app = agent({ name: "fake-acp-agent" })
  .onRequest(methods.agent.initialize, async ({ params }) => {
    log("initialize", undefined, { clientCapabilities: params.clientCapabilities, protocolVersion: params.protocolVersion });
    if (flag("--hang-init")) await new Promise(() => {});
    return {
      protocolVersion: params.protocolVersion,
      agentCapabilities: { loadSession: flag("--load-session") },
      authMethods: flag("--auth") ? [{ id: "fake-login", name: "Fake login", description: "run `fake login`" }] : [],
      agentInfo: { name: "fake-acp-agent", version: "1.0.0" },
    };
  })
  .onRequest(methods.agent.session.new, ({ params }) => {
    log("session/new", undefined, { cwd: params.cwd, mcpServers: params.mcpServers });
    if (flag("--auth")) throw RequestError.authRequired();
    const id = `sess-${process.pid}-${sessions.size + 1}-${Math.random().toString(36).slice(2, 8)}`;
    const session: Session = { id, turns: 0, history: [] };
    sessions.set(id, session);
    save(session);
    return { sessionId: id };
  })
  .onRequest(methods.agent.session.load, async ({ params, client }) => {
    log("session/load", params.sessionId);
    const session = load(params.sessionId);
    if (!session) throw RequestError.sessionNotFound(params.sessionId);
    for (const entry of session.history) {
      await client.notify(methods.client.session.update, {
        sessionId: session.id,
        update: {
          sessionUpdate: entry.role === "user" ? "user_message_chunk" : "agent_message_chunk",
          content: { type: "text", text: entry.text },
        },
      });
    }
    return {};
  })
  .onNotification(methods.agent.session.cancel, ({ params }) => {
    log("session/cancel", params.sessionId);
    if (flag("--ignore-cancel")) return;
    cancelled.add(params.sessionId);
    cancelWaiters.get(params.sessionId)?.();
  })
  .onRequest(methods.agent.session.prompt, async ({ params, client }) => {
    log("session/prompt", params.sessionId, params._meta ? { meta: params._meta } : {});
    const session = load(params.sessionId);
    if (!session) throw RequestError.sessionNotFound(params.sessionId);
    cancelled.delete(session.id);
    session.turns++;
    const text = params.prompt.map((block) => (block.type === "text" ? block.text : "")).join("");
    session.history.push({ role: "user", text });
    let reply = "";
    const update = (u: SessionNotification["update"]) => client.notify(methods.client.session.update, { sessionId: session.id, update: u });
    const chunk = async (t: string) => {
      reply += t;
      await update({ sessionUpdate: "agent_message_chunk", content: { type: "text", text: t } });
    };
    const steps: Step[] = text.startsWith("[") ? JSON.parse(text) : [{ chunk: `echo: ${text}` }];
    for (const step of steps) {
      if (cancelled.has(session.id)) break;
      if ("chunk" in step) await chunk(step.chunk);
      else if ("thought" in step) await update({ sessionUpdate: "agent_thought_chunk", content: { type: "text", text: step.thought } });
      else if ("plan" in step) await update({ sessionUpdate: "plan", entries: step.plan });
      else if ("tool" in step) {
        const { id, ...rest } = step.tool;
        await update({ sessionUpdate: "tool_call", toolCallId: id, ...rest });
      } else if ("update" in step) {
        const { id, ...rest } = step.update;
        await update({ sessionUpdate: "tool_call_update", toolCallId: id, ...rest });
      } else if ("ask" in step) {
        const answer: RequestPermissionResponse = await client.request(methods.client.session.requestPermission, {
          sessionId: session.id,
          toolCall: { toolCallId: step.ask.id, title: step.ask.title, kind: step.ask.kind },
          options: [
            { optionId: "allow", name: "Allow", kind: "allow_once" },
            { optionId: "always", name: "Always allow", kind: "allow_always" },
            { optionId: "deny", name: "Reject", kind: "reject_once" },
          ],
        });
        await chunk(`permission: ${answer.outcome.outcome === "selected" ? answer.outcome.optionId : "cancelled"}`);
      } else if ("wait_cancel" in step) {
        await new Promise<void>((resolve) => cancelWaiters.set(session.id, resolve));
      } else if ("sleep_ms" in step) await sleep(step.sleep_ms);
      else if ("stop" in step) return { stopReason: step.stop };
      else if ("exit" in step) {
        process.stderr.write("fake agent: exiting on request\n");
        process.exit(step.exit);
      } else if ("stderr" in step) process.stderr.write(step.stderr + "\n");
      else if ("garbage" in step) await rawWrite!(step.garbage);
      else if ("stray_response" in step) await rawWrite!(JSON.stringify({ jsonrpc: "2.0", id: 987654, result: {} }));
      else if ("grandchild" in step) {
        const child = spawn("sleep", ["1000"], { stdio: "ignore" });
        writeFileSync(step.grandchild, `${child.pid}\n`);
      } else if ("whoami" in step) await chunk(`${process.pid} ${session.id} ${session.turns}`);
      else if ("env" in step) await chunk(JSON.stringify(Object.fromEntries((step.env as string[]).map((name) => [name, process.env[name] ?? null]))));
      else if ("stamped" in step) {
        for (let i = 0; i < step.stamped; i++) {
          if (i > 0 && step.every_ms) await sleep(step.every_ms);
          await chunk(`T${performance.timeOrigin + performance.now()};`);
        }
      }
    }
    session.history.push({ role: "agent", text: reply });
    save(session);
    return { stopReason: cancelled.has(session.id) ? "cancelled" : "end_turn" };
  });

// Raw lines share the SDK's writer order: they go through the same byte stream.
const encoder = new TextEncoder();
let queue = Promise.resolve();
const output = new WritableStream<Uint8Array>({
  write(chunk) {
    const writer = stdoutWriter.getWriter();
    const done = writer.write(chunk).finally(() => writer.releaseLock());
    queue = done;
    return done;
  },
});
rawWrite = async (line: string) => {
  await queue;
  const writer = stdoutWriter.getWriter();
  try {
    await writer.write(encoder.encode(line + "\n"));
  } finally {
    writer.releaseLock();
  }
};
const connection = app.connect(ndJsonStream(output, Readable.toWeb(process.stdin) as unknown as ReadableStream<Uint8Array>));
await connection.closed;
process.exit(0);
