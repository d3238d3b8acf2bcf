import { checksumHex } from "../../platform/checksum.ts";

/**
 * Every JSONL record the store writes (transcripts, runs, event segments, diagnostics) is
 * sealed: its JSON object gets a last member `"crc":"<8 hex>"`, the CRC-32 of the object's text
 * without that member. The record stays one JSON object on one line, its leading key (read
 * without parsing by the readers) stays first, and the member is stripped before the record is
 * used, so nothing served shows it.
 */
const MARK = ',"crc":"';
/** `,"crc":"` + 8 hex digits + `"}`. */
const SUFFIX = MARK.length + 8 + 2;

/** `json` (one JSON object) sealed, with its newline. */
export function sealLine(json: string): string {
  return `${withSeal(json, checksumHex(json))}\n`;
}

/**
 * The record's JSON text once its seal checks out; null when it does not (the record was
 * altered or cut). An unsealed line is accepted only where `unsealed` allows it: a store
 * written before records were sealed (format 1).
 */
export function openLine(text: string, unsealed: boolean): string | null {
  const sealed = splitSeal(text);
  if (sealed) return sealed.crc === checksumHex(sealed.body) ? sealed.body : null;
  return unsealed ? text : null;
}

/** A sealed object's text without its seal, and the seal's hex digits; null when `text` carries none. */
export function splitSeal(text: string): { body: string; crc: string } | null {
  const at = text.length - SUFFIX;
  if (at <= 0 || text.charCodeAt(text.length - 1) !== 0x7d || !text.startsWith(MARK, at)) return null;
  return { body: `${text.slice(0, at)}}`, crc: text.slice(at + MARK.length, at + MARK.length + 8) };
}

/** `json` (one JSON object) with a seal whose digits the caller computed (the journal's covers its payload too). */
export function withSeal(json: string, crc: string): string {
  return `${json.slice(0, -1)}${MARK}${crc}"}`;
}

/** The parsed record when its seal checks out; undefined otherwise (as `tryParse` answers for bad JSON). */
export function parseSealed(text: string, unsealed: boolean): unknown {
  const body = openLine(text, unsealed);
  if (body === null) return undefined;
  try {
    return JSON.parse(body);
  } catch {
    return undefined;
  }
}

/**
 * A whole-file JSON document (worker.json, state.json) sealed the same way: a last member
 * `"crc"`, the CRC-32 of the document's compact JSON without it. Checked against the document as
 * parsed and written compact again, so the file may be pretty-printed.
 */
export function sealDocument(value: Record<string, unknown>): string {
  return `${JSON.stringify({ ...value, crc: checksumHex(JSON.stringify(value)) }, null, 2)}\n`;
}

/** The document without its seal when the seal checks out; `undefined` when not valid JSON or altered. */
export function openDocument(text: string, unsealed: boolean): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) return unsealed ? value : undefined;
  const { crc, ...rest } = value as Record<string, unknown>;
  if (crc === undefined) return unsealed ? value : undefined;
  return crc === checksumHex(JSON.stringify(rest)) ? rest : undefined;
}
