import { defineCommand } from "citty";
import { unwrap, type PermissionRequest } from "../../client/index.ts";
import { isTerminal, stdinLines } from "../../platform/index.ts";
import { failureOf } from "../report.ts";
import { painter } from "../style.ts";
import { clientFlags, clientFromArgs, expectPositionals, workerArg, workerPositional } from "./connect.ts";
import { Conversation } from "./conversation.ts";
import { err, note, out } from "./format.ts";

export const chatCommand = defineCommand({
  meta: {
    name: "chat",
    description:
      "Chat with a worker: each line of stdin is sent as user input and the reply streams back; " +
      "an agent's permission request is shown with numbered options and the next line answers it. " +
      "Ctrl-C cancels the active run (twice: leave); Ctrl-C while idle or end of input quits",
  },
  args: {
    ...workerPositional,
    ...clientFlags,
  },
  run: async ({ args }) => {
    expectPositionals(args, 1, "chat");
    const worker = workerArg(args.worker);
    const client = clientFromArgs(args);
    const { worker: detail } = await unwrap(client.v1.workers({ worker_id: worker }).get());
    const paint = painter("stderr");
    const prompt = isTerminal("stdin") && isTerminal("stdout");
    const quitHint = prompt ? "Ctrl-D or Ctrl-C while idle quits" : "end of input or Ctrl-C while idle quits";
    await note(`chat with ${detail.display_ref} (profile ${detail.profile.name}, ${detail.status}); Ctrl-C cancels a reply, ${quitHint}`);
    const lines = stdinLines();
    const conversation = new Conversation(client, worker, {
      print: true,
      cancelReason: "cancelled from chat (Ctrl-C)",
      choose: (request, ended) => choose(request, lines, ended),
    });
    let refused = false;
    await conversation.open();
    try {
      for (;;) {
        if (prompt) await out("> ");
        const next = await Promise.race([lines.next(), conversation.idleInterrupt]);
        if (next === "quit" || next.done) break;
        if (next.value.trim() === "") continue;
        const result = await conversation.send("user", next.value);
        if ("refused" in result) {
          refused = true;
          await err(`yoi-runtime: ${failureOf(result.refused).line}\n`);
        } else if (result.run && result.run.status !== "completed") {
          const why = result.run.error ? `: ${result.run.error.message}` : "";
          await err(`${paint("yellow", `[run ${result.run.status}${why}]`)}\n`);
        }
      }
    } finally {
      await conversation.close();
    }
    if (refused) process.exitCode = 1;
  },
});

/** Shows a permission request with numbered options; the next line (a number or an option id) answers it. */
async function choose(request: PermissionRequest, lines: AsyncGenerator<string, void, undefined>, ended: Promise<unknown>): Promise<string | null> {
  const options = request.options.map((o, i) => `  ${i + 1}) ${o.name} [${o.option_id}, ${o.kind}]\n`).join("");
  await out(`[permission] the agent asks to ${request.tool_call.kind} ${JSON.stringify(request.tool_call.title)}\n${options}`);
  for (;;) {
    await out(`choose 1-${request.options.length}: `);
    const next = await Promise.race([lines.next(), ended.then(() => "ended" as const)]);
    if (next === "ended" || next.done) return null;
    const choice = next.value.trim();
    const option = request.options[Number(choice) - 1] ?? request.options.find((o) => o.option_id === choice);
    if (option) return option.option_id;
  }
}
