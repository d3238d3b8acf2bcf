/**
 * The floor of a compiled server binary (startup.ts): Elysia imported, one `/healthz` route,
 * `Bun.serve` on 127.0.0.1:0, `listening on URL` logged to stderr like the runtime. startup.ts
 * compiles it the way scripts/build.ts compiles cli.ts, so the runtime's start-up can be compared
 * with the least a compiled Elysia server takes. Arguments are ignored.
 */
import { Elysia } from "elysia";

const app = new Elysia().get("/healthz", () => ({ ok: true }));
const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (request) => app.fetch(request) });
console.error(`listening on http://127.0.0.1:${server.port}`);
process.on("SIGTERM", () => {
  void server.stop(true);
  process.exit(0);
});
