import type { AnyMessage, JsonRpcId, Stream } from "@agentclientprotocol/sdk";
import type { AcpSdk } from "./sdk.ts";

/**
 * The SDK answers a line that is not a JSON-RPC message with an error response whose id is null,
 * and it only logs a response to a request it never sent. A client never sends `id: null`, so
 * seeing one go out, or an unmatched response come in, means the agent broke the protocol.
 */
const NULL_ID_ERROR = new TextEncoder().encode('{"jsonrpc":"2.0","id":null,"error"');

/**
 * `ndJsonStream` over an agent's stdio that reports protocol violations instead of passing them
 * over: `onViolation` is called (possibly more than once) with a description that quotes nothing
 * the agent sent.
 */
export function guardedStream(
  sdk: AcpSdk,
  toAgent: WritableStream<Uint8Array>,
  fromAgent: ReadableStream<Uint8Array>,
  onViolation: (what: string) => void,
): Stream {
  const writer = toAgent.getWriter();
  const bytesOut = new WritableStream<Uint8Array>({
    write(chunk) {
      if (startsWith(chunk, NULL_ID_ERROR)) onViolation("the agent sent a line that is not a valid JSON-RPC message");
      return writer.write(chunk);
    },
    close: () => writer.close(),
    abort: (reason) => writer.abort(reason),
  });
  const raw = sdk.ndJsonStream(bytesOut, fromAgent);

  const sent = new Set<JsonRpcId>();
  const messagesOut = raw.writable.getWriter();
  const writable = new WritableStream<AnyMessage>({
    write(message) {
      if ("method" in message && "id" in message) sent.add(message.id);
      return messagesOut.write(message);
    },
    close: () => messagesOut.close(),
    abort: (reason) => messagesOut.abort(reason),
  });
  const readable = raw.readable.pipeThrough(
    new TransformStream<AnyMessage, AnyMessage>({
      transform(message, controller) {
        const isResponse = !("method" in message) && "id" in message;
        if (isResponse && !sent.delete(message.id as JsonRpcId)) {
          onViolation("the agent answered a request that was never sent");
          return;
        }
        controller.enqueue(message);
      },
    }),
  );
  return { readable, writable };
}

function startsWith(chunk: Uint8Array, prefix: Uint8Array): boolean {
  if (chunk.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (chunk[i] !== prefix[i]) return false;
  return true;
}
