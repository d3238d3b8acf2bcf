/**
 * The REST baseline: a bare `Bun.serve` answering with responses captured from the real server
 * (same status, content-type and body bytes; Bun adds Date and Content-Length to both). It reads
 * a POST's body, as any server must, and does nothing else.
 *
 *   bun scripts/bench/raw-server.ts [--spec SPEC.json] [--serialize]
 *
 * logs `listening on http://127.0.0.1:PORT` to stderr. With `--serialize` it keeps each body as
 * the parsed JSON value and answers `Response.json(value)` per request: the same bytes, with the
 * serialisation the real server cannot skip.
 *
 * Without a spec it only answers GET /healthz (the start-up baseline of startup.ts; other
 * arguments are ignored). SPEC.json: `[{ method, path, status, headers: {name: value}, body_base64 }]`; a `{n}` in `path`
 * matches any text there (the rotating worker ids of the POST case).
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

interface Canned {
  method: string;
  path: string;
  status: number;
  headers: Record<string, string>;
  body_base64: string;
}

const { values } = parseArgs({ args: Bun.argv.slice(2), options: { spec: { type: "string" }, serialize: { type: "boolean" } }, strict: false, allowPositionals: true });
const canned = typeof values.spec === "string" ? (JSON.parse(readFileSync(values.spec, "utf8")) as Canned[]) : [];
const serialize = values.serialize === true;
interface Answer {
  body: Uint8Array<ArrayBuffer>;
  value: unknown;
  init: ResponseInit;
}
const exact = new Map<string, Answer>();
const patterns: ({ method: string; prefix: string; suffix: string } & Answer)[] = [];
for (const entry of canned) {
  const body: Uint8Array<ArrayBuffer> = new Uint8Array(Buffer.from(entry.body_base64, "base64"));
  const init = { status: entry.status, headers: entry.headers };
  const value = serialize ? JSON.parse(new TextDecoder().decode(body)) : null;
  if (entry.path.includes("{n}")) {
    const [prefix, suffix] = entry.path.split("{n}") as [string, string];
    patterns.push({ method: entry.method, prefix, suffix, body, value, init });
  } else {
    exact.set(`${entry.method} ${entry.path}`, { body, value, init });
  }
}
const notFound = () => new Response("not found", { status: 404 });

const server = Bun.serve({
  hostname: "127.0.0.1",
  port: 0,
  idleTimeout: 60,
  async fetch(request) {
    const url = request.url;
    const start = url.indexOf("/", url.indexOf("//") + 2);
    const path = url.slice(start);
    let hit = exact.get(`${request.method} ${path}`);
    if (!hit) {
      for (const pattern of patterns) {
        if (pattern.method === request.method && path.startsWith(pattern.prefix) && path.endsWith(pattern.suffix)) {
          hit = pattern;
          break;
        }
      }
    }
    if (path === "/healthz") return Response.json({ ok: true });
    if (!hit) return notFound();
    if (request.method === "POST") await request.arrayBuffer();
    return serialize ? Response.json(hit.value, hit.init) : new Response(hit.body, hit.init);
  },
});
console.error(`listening on http://127.0.0.1:${server.port}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
