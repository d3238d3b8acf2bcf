import { RuntimeError } from "../core/errors.ts";

/** Request bodies nest a few levels at most; anything deeper is refused before `JSON.parse` recurses. */
export const MAX_JSON_DEPTH = 64;

// ignoreBOM keeps a leading byte order mark in the text, where JSON.parse refuses it: RFC 8259 forbids
// sending one, and every route answers it the same way (400 invalid_json).
const utf8 = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Reads a request body as strict JSON (SPEC §10): `application/json` only (415), at most
 * `maxBytes` bytes whether announced by Content-Length or only found while reading a chunked body
 * (413), valid UTF-8, no duplicate keys, nesting at most MAX_JSON_DEPTH (400 `invalid_json`).
 * An empty body yields `undefined`, so a route with an optional body accepts it and a route with
 * a required body fails its schema. Every body is a JSON object: `null`, an array, a string or a
 * number is 400 `invalid_request` on every route (before its schema, which may allow no body).
 */
export async function readJsonBody(request: Request, maxBytes: number): Promise<unknown> {
  const bytes = await readJsonBytes(request, maxBytes);
  return bytes === undefined ? undefined : parseJsonObject(bytes);
}

/**
 * The first half of `readJsonBody`: the body's bytes, checked for media type and size but not
 * yet parsed (`undefined` when empty), for a caller that may have to hand them on.
 */
export async function readJsonBytes(request: Request, maxBytes: number): Promise<Uint8Array | undefined> {
  const headers = request.headers;
  const length = headers.get("content-length");
  if (length !== null) {
    const announced = Number(length);
    if (announced > maxBytes) throw tooLarge(maxBytes);
    if (announced === 0) {
      await request.body?.cancel();
      return undefined;
    }
  }
  const type = headers.get("content-type");
  const json = type !== null && isJsonMediaType(type);
  // A body announced by length is refused before it is read; a chunked one once it proves non-empty.
  if (length !== null && !json) throw unsupportedType();
  const bytes = length !== null ? await readAnnounced(request, Number(length), maxBytes) : await readBounded(request, maxBytes);
  if (bytes.length === 0) return undefined;
  if (!json) throw unsupportedType();
  return bytes;
}

/** The second half of `readJsonBody`: strict UTF-8 and JSON, and a JSON object. */
export function parseJsonObject(bytes: Uint8Array): object {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new RuntimeError("invalid_json", "the request body is not valid UTF-8");
  }
  const value = parseStrictJson(text);
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new RuntimeError("invalid_request", `the request body must be a JSON object, not ${value === null ? "null" : Array.isArray(value) ? "an array" : `a ${typeof value}`}`);
  }
  return value;
}

function tooLarge(maxBytes: number): RuntimeError {
  return new RuntimeError("payload_too_large", `the request body exceeds ${maxBytes} bytes (limits.max_body_bytes)`, {
    max_body_bytes: maxBytes,
  });
}

function unsupportedType(): RuntimeError {
  return new RuntimeError("unsupported_media_type", "request bodies must be application/json");
}

/** `application/json`, optionally with `charset=utf-8`; any other charset cannot be JSON (RFC 8259). */
export function isJsonMediaType(value: string): boolean {
  // What nearly every client sends, answered without splitting and lower-casing per request.
  if (value === "application/json") return true;
  const [essence, ...parameters] = value.split(";");
  if (essence!.trim().toLowerCase() !== "application/json") return false;
  for (const parameter of parameters) {
    const [name, raw = ""] = parameter.split("=");
    if (name!.trim().toLowerCase() !== "charset") continue;
    const charset = raw.trim().replace(/^"(.*)"$/, "$1").toLowerCase();
    if (charset !== "utf-8" && charset !== "utf8") return false;
  }
  return true;
}

/**
 * A body whose length was announced (and is within the limit) in one read: the HTTP server
 * delivers exactly that many bytes, and reading them whole costs a fraction of a stream reader.
 * A request built in process can carry a body longer than its header says, so the size is
 * checked again after the read.
 */
async function readAnnounced(request: Request, announced: number, maxBytes: number): Promise<Uint8Array> {
  if (!Number.isSafeInteger(announced) || announced < 0) return readBounded(request, maxBytes);
  const bytes = new Uint8Array(await request.arrayBuffer());
  if (bytes.length > maxBytes) throw tooLarge(maxBytes);
  return bytes;
}

async function readBounded(request: Request, maxBytes: number): Promise<Uint8Array> {
  const body = request.body;
  if (!body) return new Uint8Array(0);
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    total += value.byteLength;
    if (total > maxBytes) {
      await reader.cancel().catch(() => undefined);
      throw tooLarge(maxBytes);
    }
    chunks.push(value);
  }
  if (chunks.length === 1) return chunks[0]!;
  const bytes = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

/**
 * `JSON.parse`, refusing what it would silently accept: duplicate keys (it keeps the last one, so
 * two readers could disagree on what was sent) and nesting deep enough to exhaust the stack in
 * the parser or in schema validation. Messages never quote the body, which may be logged.
 *
 * A member named `toString` gets a function as its value. An object with its own non-function
 * `toString` cannot be converted to a string, which Elysia does while building a validation
 * message (`found: ${value}`): the TypeError answered 500. No request schema has a `toString`
 * field and every one refuses unknown fields, so such a body still fails validation, with the
 * same code and message as before; only building the message no longer throws.
 */
export function parseStrictJson(text: string): unknown {
  const { duplicate, toStringKey } = scanStructure(text);
  let value: unknown;
  try {
    value = JSON.parse(text, toStringKey ? stringifiable : undefined);
  } catch {
    throw new RuntimeError("invalid_json", "the request body is not valid JSON");
  }
  if (duplicate !== null) {
    throw new RuntimeError("invalid_json", `the request body repeats the key ${JSON.stringify(duplicate.slice(0, 100))}`);
  }
  return value;
}

const objectToString = () => "[object Object]";
/** A `JSON.parse` reviver, only for bodies with a `toString` member (see parseStrictJson). */
const stringifiable = (key: string, value: unknown): unknown => (key === "toString" ? objectToString : value);

const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * One pass over the text tracking containers: throws when nesting exceeds MAX_JSON_DEPTH and
 * returns the first key repeated within one object (or null) and whether any key is `toString`.
 * It trusts nothing about the syntax — `JSON.parse` judges that afterwards — and only needs to
 * stay linear and not crash.
 */
function scanStructure(text: string): { duplicate: string | null; toStringKey: boolean } {
  // One entry per open container: a key set for objects, null for arrays.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  let duplicate: string | null = null;
  let toStringKey = false;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const start = i + 1;
      let escaped = false;
      for (i = start; i < length; i++) {
        const d = text.charCodeAt(i);
        if (d === BACKSLASH) {
          escaped = true;
          i++;
        } else if (d === QUOTE) break;
      }
      const keys = stack[stack.length - 1];
      if (expectKey && keys && duplicate === null) {
        const key = decodeKey(text.slice(start, i), escaped);
        if (key !== null) {
          if (keys.has(key)) duplicate = key;
          else keys.add(key);
          if (key === "toString") toStringKey = true;
        }
      }
      expectKey = false;
    } else if (c === OPEN_OBJECT || c === OPEN_ARRAY) {
      if (stack.length === MAX_JSON_DEPTH) {
        throw new RuntimeError("invalid_json", `the request body nests deeper than ${MAX_JSON_DEPTH} levels`);
      }
      stack.push(c === OPEN_OBJECT ? new Set() : null);
      expectKey = c === OPEN_OBJECT;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      stack.pop();
      expectKey = false;
    } else if (c === COMMA) {
      expectKey = stack[stack.length - 1] != null;
    }
  }
  return { duplicate, toStringKey };
}

/** A key with escapes is compared decoded (`"a"` and `"\u0061"` are the same key). */
function decodeKey(raw: string, escaped: boolean): string | null {
  if (!escaped) return raw;
  try {
    return JSON.parse(`"${raw}"`) as string;
  } catch {
    return null;
  }
}
