import { RuntimeError } from "./errors.ts";

/** Runtime, worker and run ids share one charset (SPEC §2); it cannot express `.`/`..` or a path separator. */
export const ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9._-]*$";
export const ID_MAX_LENGTH = 128;
const ID_REGEX = new RegExp(ID_PATTERN);

export function isValidId(value: unknown): value is string {
  return typeof value === "string" && value.length >= 1 && value.length <= ID_MAX_LENGTH && ID_REGEX.test(value);
}

export function assertWorkerId(value: unknown): string {
  if (!isValidId(value)) {
    throw new RuntimeError(
      "invalid_worker_id",
      `worker_id must be 1-${ID_MAX_LENGTH} characters matching ${ID_PATTERN}`,
    );
  }
  return value;
}

const CROCKFORD = "0123456789abcdefghjkmnpqrstvwxyz";

function randomChars(count: number, alphabet: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(count));
  let out = "";
  for (const byte of bytes) out += alphabet[byte % alphabet.length];
  return out;
}

let lastTime = 0;
let lastRandom = "";

/**
 * A ULID-shaped id (48-bit ms time + 80 random bits, Crockford base32, lowercase) that sorts by
 * creation time, monotonically within one millisecond, so cursors over ids follow creation order.
 */
export function sortableId(now = Date.now()): string {
  let time = now;
  let random: string;
  if (time <= lastTime) {
    time = lastTime;
    random = incrementBase32(lastRandom);
  } else {
    random = randomChars(16, CROCKFORD);
  }
  lastTime = time;
  lastRandom = random;
  let head = "";
  for (let i = 0; i < 10; i++) {
    head = CROCKFORD[time % 32] + head;
    time = Math.floor(time / 32);
  }
  return head + random;
}

function incrementBase32(value: string): string {
  const chars = value.split("");
  for (let i = chars.length - 1; i >= 0; i--) {
    const index = CROCKFORD.indexOf(chars[i]!);
    if (index < 31) {
      chars[i] = CROCKFORD[index + 1]!;
      return chars.join("");
    }
    chars[i] = "0";
  }
  return randomChars(16, CROCKFORD);
}

export const newRuntimeId = (): string => `rt-${randomChars(16, "0123456789abcdef")}`;
export const newWorkerId = (): string => `w-${sortableId()}`;
export const newRunId = (): string => `r-${sortableId()}`;

/**
 * A UUID-shaped value derived from `text` (FNV-1a, four seeds; version nibble 8, "custom"): the
 * session id of a worker whose record predates `session_id`, the same on every start.
 */
export function stableUuid(text: string): string {
  let hex = "";
  for (const seed of [0x811c9dc5, 0x01000193, 0x6a09e667, 0xbb67ae85]) {
    let hash = seed >>> 0;
    for (let i = 0; i < text.length; i++) hash = Math.imul(hash ^ text.charCodeAt(i), 0x01000193) >>> 0;
    hex += hash.toString(16).padStart(8, "0");
  }
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
