import { readFileSync } from "node:fs";
import { unwrap, type RuntimeClient } from "../../client/index.ts";
import { RuntimeError } from "../../core/errors.ts";
import { readStdin } from "../../platform/index.ts";
import { UsageError } from "../usage-error.ts";

/** Where `send` takes its input from: the words on the command line, standard input (`-`), or a file. */
export type InputSource = { kind: "words"; text: string } | { kind: "stdin" } | { kind: "file"; path: string };

export function inputSource(words: string[], file: string | undefined): InputSource {
  if (file !== undefined) {
    if (words.length > 0) throw new UsageError("give the input either as TEXT or with --file, not both");
    return { kind: "file", path: file };
  }
  if (words.length === 1 && words[0] === "-") return { kind: "stdin" };
  const text = words.join(" ");
  if (text.length === 0) throw new UsageError("the input is missing: give TEXT, `-` to read standard input, or --file PATH");
  return { kind: "words", text };
}

/**
 * The whole input as UTF-8 text. Input read from stdin or a file is checked against the
 * runtime's `limits.max_input_bytes` before it is sent, so a large file fails fast with the limit
 * named instead of after the upload.
 */
export async function readInput(source: InputSource, client: RuntimeClient): Promise<string> {
  if (source.kind === "words") return source.text;
  const bytes = source.kind === "stdin" ? await readStdin() : readFileBytes(source.path);
  const where = source.kind === "stdin" ? "standard input" : source.path;
  if (bytes.length === 0) throw new UsageError(`the input is empty (${where})`);
  let text: string;
  try {
    text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    throw new UsageError(`the input is not UTF-8 text (${where})`);
  }
  const { runtime } = await unwrap(client.v1.runtime.get());
  const limit = runtime.limits.max_input_bytes;
  if (bytes.length > limit) {
    throw new RuntimeError(
      "payload_too_large",
      `the input (${where}) is ${bytes.length} bytes; the runtime accepts at most ${limit} (limits.max_input_bytes)`,
      { input_bytes: bytes.length, max_input_bytes: limit },
    );
  }
  return text;
}

function readFileBytes(path: string): Uint8Array {
  try {
    return readFileSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "it does not exist" : code === "EISDIR" ? "it is a directory" : `${code ?? (error as Error).message}`;
    throw new UsageError(`--file: cannot read ${path}: ${why}`);
  }
}
