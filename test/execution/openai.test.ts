import { afterEach, describe, expect, test } from "bun:test";
import { RuntimeError, type Runtime } from "../../src/index.ts";
import {
  FakeProvider,
  bytesOf,
  chunkFrame,
  completionStream,
  splitEvery,
  splitRandomly,
  streamResponse,
} from "./fake-provider.ts";
import { DeltaLog, finish, lastAssistant, openRuntime, startRun, until, withEnv } from "./helpers.ts";

const KEY_ENV = "YOI_TEST_PROVIDER_KEY";
const KEY = "sk-test-0123456789abcdef-secret";

let provider: FakeProvider | null = null;
let runtime: Runtime | null = null;

afterEach(async () => {
  await runtime?.close();
  runtime = null;
  await provider?.stop();
  provider = null;
});

async function openaiRuntime(settings: Record<string, unknown> = {}): Promise<Runtime> {
  runtime = await openRuntime({ llm: { backend: "openai", base_url: provider!.baseUrl, model: "fake-model", ...settings } });
  return runtime;
}

/** Text that exercises the parser: multibyte characters (2, 3 and 4 bytes), quotes, newlines. */
const PARTS = ["Hé", "llo, ", "wörld ", "🌍🚀", " — “quoted”", "\nline\ttwo", " 日本語", "."];
const EXPECTED = PARTS.join("");

/**
 * The same answer as `completionStream(PARTS)`, framed the hard way: CRLF and CR line endings,
 * comments, `event:`/`id:`/`retry:` fields, a field without a space after the colon, and JSON
 * split over several `data:` lines (joined with "\n", which JSON accepts as whitespace).
 */
function trickyStream(): string {
  const frames: string[] = [": keep-alive comment\r\n\r\n", "retry: 1000\n\n"];
  PARTS.forEach((content, i) => {
    const json = JSON.stringify({ choices: [{ index: 0, delta: { content }, finish_reason: null }] }, null, 1);
    const data = json
      .split("\n")
      .map((line) => `data:${i % 2 === 0 ? " " : ""}${line}`)
      .join(i % 3 === 0 ? "\r\n" : i % 3 === 1 ? "\n" : "\r");
    const end = i % 3 === 0 ? "\r\n\r\n" : i % 3 === 1 ? "\n\n" : "\r\r";
    frames.push(`event: message\r\nid: ${i}\r\n${data}${end}`, ": ping\n\n");
  });
  frames.push(chunkFrame({ finish: "stop" }).replace(/\n/g, "\r\n"), chunkFrame({ usage: { prompt_tokens: 30, completion_tokens: 8 } }), "data: [DONE]\r\n\r\n");
  return frames.join("");
}

async function runAndCollect(rt: Runtime, content = "hi") {
  const { worker_ref } = await rt.createWorker({});
  const log = new DeltaLog(rt, worker_ref.worker_id);
  const { run_id } = await startRun(rt, content, worker_ref);
  const run = await finish(rt, worker_ref, run_id);
  await log.finished();
  return { worker_ref, run_id, run, deltas: log.deltas };
}

describe("openai backend: streaming", () => {
  test("deltas stream in order and assemble into the answer; usage is recorded on the run", async () => {
    provider = FakeProvider.start(() => streamResponse(completionStream(PARTS, { prompt_tokens: 21, completion_tokens: 9 })));
    const rt = await openaiRuntime();
    const { worker_ref, run, deltas } = await runAndCollect(rt);
    expect(run).toMatchObject({ status: "completed", error: null, partial: false, usage: { input_tokens: 21, output_tokens: 9 } });
    expect(deltas).toEqual(PARTS);
    expect((await lastAssistant(rt, worker_ref))!).toMatchObject({ role: "assistant", content: EXPECTED, partial: false });
  });

  test("a stream split at every byte, inside characters and line endings, assembles intact", async () => {
    for (const body of [completionStream(PARTS), trickyStream()]) {
      provider = FakeProvider.start(() => streamResponse(splitEvery(bytesOf(body), 1)));
      const rt = await openaiRuntime();
      const { worker_ref, run, deltas } = await runAndCollect(rt);
      expect(run.status).toBe("completed");
      expect(deltas.join("")).toBe(EXPECTED);
      expect((await lastAssistant(rt, worker_ref))!.content).toBe(EXPECTED);
      await rt.close();
      runtime = null;
      await provider.stop();
    }
    provider = null;
  });

  test("random splits of a tricky stream (CRLF/CR, comments, multi-line data) assemble intact", async () => {
    const body = bytesOf(trickyStream());
    provider = FakeProvider.start(() => streamResponse(body as unknown as Uint8Array[]));
    const rt = await openaiRuntime();
    const { worker_ref } = await rt.createWorker({});
    for (let seed = 1; seed <= 8; seed++) {
      provider.setHandler(() => streamResponse(splitRandomly(body, seed)));
      const log = new DeltaLog(rt, worker_ref.worker_id);
      const { run_id } = await startRun(rt, `seed ${seed}`, worker_ref);
      const run = await finish(rt, worker_ref, run_id);
      await log.finished();
      expect({ seed, status: run.status, text: log.deltas.join("") }).toEqual({ seed, status: "completed", text: EXPECTED });
      expect(run.usage).toEqual({ input_tokens: 30, output_tokens: 8 });
    }
  });

  test("a stream that ends after finish_reason without [DONE], or with an unterminated last frame, still completes", async () => {
    const variants = [
      completionStream(["ok"]).replace("data: [DONE]\n\n", ""),
      completionStream(["ok"]).replace("data: [DONE]\n\n", "data: [DONE]"),
    ];
    provider = FakeProvider.start(() => streamResponse(""));
    const rt = await openaiRuntime();
    for (const body of variants) {
      provider.setHandler(() => streamResponse(body));
      const { worker_ref, run } = await runAndCollect(rt);
      expect(run.status).toBe("completed");
      expect((await lastAssistant(rt, worker_ref))!.content).toBe("ok");
    }
  });
});

describe("openai backend: the request", () => {
  test("sends model, settings, system prompt, bounded history (without cut-off answers) and the input, with the key and headers", async () => {
    let answer: () => Response = () => streamResponse(completionStream(["first answer"]));
    provider = FakeProvider.start(() => answer());
    await withEnv({ [KEY_ENV]: KEY }, () =>
      openaiRuntime({
        api_key_env: KEY_ENV,
        system_prompt: "You are terse.",
        temperature: 0.25,
        max_tokens: 64,
        max_history_items: 4,
        headers: { "X-Team": "agents" },
      }),
    );
    const rt = runtime!;
    const { worker_ref } = await rt.createWorker({});
    await rt.sendInput(worker_ref, { kind: "system", content: "Context: the user is testing." });
    let ack = await rt.sendInput(worker_ref, { kind: "user", content: "question one" });
    expect((await finish(rt, worker_ref, ack.run_id!)).status).toBe("completed");
    // The next answer breaks off mid-stream: its partial text must not become history.
    answer = () => streamResponse(chunkFrame({ content: "cut off" }) + "data: {not json\n\n");
    ack = await rt.sendInput(worker_ref, { kind: "user", content: "question two" });
    expect((await finish(rt, worker_ref, ack.run_id!)).status).toBe("failed");
    answer = () => streamResponse(completionStream(["third answer"]));
    ack = await rt.sendInput(worker_ref, { kind: "user", content: "question three" });
    expect((await finish(rt, worker_ref, ack.run_id!)).status).toBe("completed");

    expect(provider.requests).toHaveLength(3);
    for (const request of provider.requests) {
      expect(request.path).toBe("/v1/chat/completions");
      expect(request.headers.get("authorization")).toBe(`Bearer ${KEY}`);
      expect(request.headers.get("x-team")).toBe("agents");
      expect(request.headers.get("content-type")).toBe("application/json");
      expect(request.body).toMatchObject({
        model: "fake-model",
        stream: true,
        stream_options: { include_usage: true },
        temperature: 0.25,
        max_tokens: 64,
      });
    }
    expect(provider.requests[0]!.body.messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "system", content: "Context: the user is testing." },
      { role: "user", content: "question one" },
    ]);
    // Transcript before the third input: system, q1, a1, q2, partial a2 — the last 4 of them, minus the partial.
    expect(provider.requests[2]!.body.messages).toEqual([
      { role: "system", content: "You are terse." },
      { role: "user", content: "question one" },
      { role: "assistant", content: "first answer" },
      { role: "user", content: "question two" },
      { role: "user", content: "question three" },
    ]);
  });

  test("without api_key_env no Authorization is sent; max_history_items = 0 sends only the input", async () => {
    provider = FakeProvider.start(() => streamResponse(completionStream(["x"])));
    const rt = await openaiRuntime({ max_history_items: 0 });
    const { worker_ref } = await runAndCollect(rt, "first");
    const ack = await rt.sendInput(worker_ref, { kind: "user", content: "second" });
    await finish(rt, worker_ref, ack.run_id!);
    expect(provider.requests[1]!.headers.get("authorization")).toBeNull();
    expect(provider.requests[1]!.body.messages).toEqual([{ role: "user", content: "second" }]);
    expect(provider.requests[1]!.body).not.toHaveProperty("temperature");
    expect(provider.requests[1]!.body).not.toHaveProperty("max_tokens");
  });

  test("a named api_key_env that is unset fails the open, naming the variable and the key", async () => {
    provider = FakeProvider.start(() => streamResponse(""));
    await withEnv({ [KEY_ENV]: undefined }, async () => {
      const error = await openaiRuntime({ api_key_env: KEY_ENV }).catch((e) => e);
      runtime = null;
      expect(error).toBeInstanceOf(RuntimeError);
      expect(error.code).toBe("invalid_request");
      expect(error.message).toContain(KEY_ENV);
      expect(error.message).toContain("profiles.llm.api_key_env");
    });
  });

  test("settings are validated strictly when the runtime opens", async () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ base_url: "ftp://example", model: "m" }, "profiles.p.base_url"],
      [{ model: "m" }, "profiles.p.base_url"],
      [{ base_url: "http://127.0.0.1:1/v1" }, "profiles.p.model"],
      [{ base_url: "http://127.0.0.1:1/v1", model: "m", temperature: 3 }, "profiles.p.temperature"],
      [{ base_url: "http://127.0.0.1:1/v1", model: "m", max_tokens: 1.5 }, "profiles.p.max_tokens"],
      [{ base_url: "http://127.0.0.1:1/v1", model: "m", api_key: "inline" }, "profiles.p"],
      [{ base_url: "http://127.0.0.1:1/v1", model: "m", headers: { "bad header": "x" } }, "profiles.p.headers"],
    ];
    for (const [settings, key] of cases) {
      const error = await openRuntime({ p: { backend: "openai", ...settings } }).catch((e) => e);
      expect(error).toBeInstanceOf(RuntimeError);
      expect(error.code).toBe("invalid_request");
      expect(error.message).toContain(key);
    }
  });
});

describe("openai backend: failures", () => {
  test("4xx and 5xx answers fail the run provider_error with the status and the provider's message; the key is never echoed", async () => {
    const answers: Array<[() => Response, number, string]> = [
      [() => Response.json({ error: { message: "model 'fake-model' not found", type: "invalid_request_error" } }, { status: 404 }), 404, "model 'fake-model' not found"],
      [() => Response.json({ error: `Incorrect API key provided: ${KEY}` }, { status: 401 }), 401, "Incorrect API key provided: [redacted]"],
      [() => new Response("upstream overloaded", { status: 503 }), 503, "upstream overloaded"],
      [() => Response.json({ message: "rate limited" }, { status: 429 }), 429, "rate limited"],
    ];
    let current = answers[0]![0];
    provider = FakeProvider.start(() => current());
    await withEnv({ [KEY_ENV]: KEY }, () => openaiRuntime({ api_key_env: KEY_ENV }));
    const rt = runtime!;
    for (const [answer, status, message] of answers) {
      current = answer;
      const { worker_ref, run } = await runAndCollect(rt);
      expect(run).toMatchObject({ status: "failed", partial: false, error: { code: "provider_error", details: { status } } });
      expect(run.error!.message).toContain(String(status));
      expect(run.error!.message).toContain(message);
      expect((await rt.getWorker(worker_ref)).status).toBe("idle");
    }
    const everything = JSON.stringify([
      await rt.readEvents({ after: 0 }, 256),
      await rt.diagnostics(),
      await rt.summary(),
      await rt.listWorkers(),
    ]);
    expect(everything).not.toContain(KEY);
  });

  test("malformed streams fail clearly and keep the output so far, marked partial", async () => {
    const cases: Array<[string, string, string]> = [
      [chunkFrame({ content: "half" }) + "data: {this is not json}\n\n", "malformed_stream", "not JSON"],
      [chunkFrame({ content: "half" }), "malformed_stream", "ended before the response was complete"],
      [chunkFrame({ content: "half" }) + `data: ${JSON.stringify({ error: { message: "the model crashed" } })}\n\n`, "provider_error", "the model crashed"],
      [chunkFrame({ content: "half" }) + "data: 42\n\n", "malformed_stream", "not an object"],
    ];
    let body = "";
    provider = FakeProvider.start(() => streamResponse(body));
    const rt = await openaiRuntime();
    for (const [stream, code, message] of cases) {
      body = stream;
      const { worker_ref, run } = await runAndCollect(rt);
      expect(run).toMatchObject({ status: "failed", partial: true, error: { code } });
      expect(run.error!.message).toContain(message);
      expect((await lastAssistant(rt, worker_ref))!).toMatchObject({ content: "half", partial: true });
    }
  });

  test("a JSON answer instead of an event stream fails malformed_stream", async () => {
    provider = FakeProvider.start(() => Response.json({ choices: [{ message: { role: "assistant", content: "whole" } }] }));
    const rt = await openaiRuntime();
    const { run } = await runAndCollect(rt);
    expect(run).toMatchObject({ status: "failed", error: { code: "malformed_stream" } });
    expect(run.error!.message).toContain("not an event stream");
  });

  test("an unreachable provider fails network_error naming the endpoint", async () => {
    provider = FakeProvider.start(() => streamResponse(""));
    const baseUrl = provider.baseUrl;
    await provider.stop();
    provider = null;
    runtime = await openRuntime({ llm: { backend: "openai", base_url: baseUrl, model: "m" } });
    const { run } = await runAndCollect(runtime);
    expect(run).toMatchObject({ status: "failed", error: { code: "network_error" } });
    expect(run.error!.message).toContain(`${baseUrl}/chat/completions`);
  });
});

describe("openai backend: stopping runs closes the provider connection", () => {
  function holdingProvider(observed: { cancelled: number }): FakeProvider {
    return FakeProvider.start(() =>
      streamResponse(chunkFrame({ content: "thinking" }), { hold: true, onCancel: () => observed.cancelled++ }),
    );
  }

  test("cancel aborts the request: the provider sees the connection close; the partial answer is kept", async () => {
    const observed = { cancelled: 0 };
    provider = holdingProvider(observed);
    const rt = await openaiRuntime();
    const { worker_ref } = await rt.createWorker({});
    const log = new DeltaLog(rt, worker_ref.worker_id);
    const { run_id } = await startRun(rt, "go", worker_ref);
    await until(() => log.deltas.length > 0, "the first delta");
    const ack = await rt.cancelRun(worker_ref);
    expect(ack.cancelled_run_id).toBe(run_id);
    expect((await rt.getRun(worker_ref, run_id))).toMatchObject({ status: "cancelled", partial: true });
    expect((await lastAssistant(rt, worker_ref))!).toMatchObject({ content: "thinking", partial: true });
    await until(() => observed.cancelled === 1 && provider!.disconnects === 1, "the provider to see the connection close");
  });

  test("timeout_s ends the run timed_out and closes the connection", async () => {
    const observed = { cancelled: 0 };
    provider = holdingProvider(observed);
    const rt = await openaiRuntime({ timeout_s: 0.3 });
    const { worker_ref, run } = await runAndCollect(rt);
    expect(run).toMatchObject({ status: "timed_out", error: { code: "timed_out" }, partial: true });
    expect((await lastAssistant(rt, worker_ref))!.content).toBe("thinking");
    await until(() => observed.cancelled === 1 && provider!.disconnects === 1, "the provider to see the connection close");
  });

  test("a cancel before the provider answered at all aborts the pending request", async () => {
    let answered = false;
    provider = FakeProvider.start(async (_request, raw) => {
      await new Promise<void>((resolve) => raw.signal.addEventListener("abort", () => resolve(), { once: true }));
      answered = true;
      return streamResponse("");
    });
    const rt = await openaiRuntime();
    const { worker_ref, run_id } = await startRun(rt);
    await until(() => provider!.requests.length === 1, "the request to arrive");
    await rt.cancelRun(worker_ref);
    expect((await rt.getRun(worker_ref, run_id))).toMatchObject({ status: "cancelled", partial: false, output_sequence: null });
    await until(() => answered, "the provider to see the request aborted");
  });

  test("closing the runtime interrupts the run and closes the connection", async () => {
    const observed = { cancelled: 0 };
    provider = holdingProvider(observed);
    const rt = await openaiRuntime();
    const { worker_ref } = await rt.createWorker({});
    const log = new DeltaLog(rt, worker_ref.worker_id);
    const { run_id } = await startRun(rt, "go", worker_ref);
    await until(() => log.deltas.length > 0, "the first delta");
    const done = rt.waitRun(worker_ref, run_id, 60_000);
    await rt.close();
    runtime = null;
    expect((await done).status).toBe("interrupted");
    await until(() => observed.cancelled === 1, "the provider to see the connection close");
  });
});
