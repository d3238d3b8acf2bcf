import { Elysia } from "elysia";
import type { HookContainer } from "elysia/types";
import type { Runtime, RuntimeLogger } from "../core/runtime.ts";
import { createGuard, type Admitted, type RequestGrants } from "./auth.ts";
import { errorHandler } from "./error-handler.ts";
import { TypeCompiler } from "@sinclair/typebox/compiler";
import { InputRequest } from "../core/schema/interaction.ts";
import { matchHotInput, type HotInput } from "./hot-input.ts";
import { hotReads, type HotRead } from "./hot-reads.ts";
import { writeOptionsOf } from "./idempotency.ts";
import { parseJsonObject, readJsonBytes } from "./json-body.ts";
import type { HttpMetrics } from "./metrics/runtime-metrics.ts";
import type { RouteDeclaration } from "./openapi.ts";
import { requestLog } from "./request-log.ts";
import type { MatchedRoute } from "./scopes.ts";
import type { TokenVerifier } from "./token-verifier.ts";
import { pathOf } from "./url-path.ts";

export interface PipelineOptions {
  runtime: Runtime;
  token: string | null | undefined;
  verifier: TokenVerifier | null | undefined;
  logger: RuntimeLogger | null;
  metrics: HttpMetrics | null;
  /** Where the guard leaves each request's grant for the routes that filter by it. */
  grants: RequestGrants;
  /** The app's finished route table (for 405 `Allow`). */
  routes: () => readonly RouteDeclaration[];
  /** The app itself: a request whose signed token had to be verified first is dispatched again. */
  dispatch: (request: Request) => Promise<Response>;
  /** The app's routes without the front door: a hot input whose body fails its schema goes there. */
  route: (request: Request) => Response | Promise<Response>;
}

type RequestHook = (context: { request: Request }) => Promise<Response> | undefined;

/**
 * What every request goes through around its route, as global hooks of the app that `.use()`s
 * them before its routes: the guard (Origin refusal, credentials, the route's scope and the
 * token's workers — auth.ts), then the hot reads, before routing; one error handler for every
 * failure; the one request record (log line, metrics). The hot reads are answered by `front`
 * before Elysia sees them: Elysia's handler, context and hook calls cost those small answers
 * about a quarter of their server CPU time; the hooks still answer one that reaches them.
 * Returns `hooks` (`.use()`d by the app before its routes) and `front` (tried by `app.fetch`
 * first: it answers a hot read on its own, and gives `undefined` for every other request).
 */
export function requestPipeline({ runtime, token, verifier, logger, metrics, grants, routes, dispatch, route }: PipelineOptions) {
  const guard = createGuard({ token, verifier });
  const hot = hotReads(runtime);
  const log = logger || metrics ? requestLog(logger, metrics) : null;
  const handleError = errorHandler(routes, logger, log);
  // A request dispatched again after its token was verified keeps when it first came in.
  const firstSeen = new WeakMap<Request, number>();

  const answer = (match: HotRead, request: Request, since: number): Promise<Response> =>
    match.read().then(
      (value) => {
        // A hot read keeps its start to itself: the request-keyed bookkeeping costs it measurably.
        log?.line("GET", match.path, 200, since, match.route.key);
        return Response.json(match.envelope(value as never));
      },
      (error: unknown) => {
        log?.start(request, since);
        return handleError(error, undefined, request);
      },
    );

  const refused = (error: unknown, request: Request, since: number): Response => {
    log?.start(request, since);
    return handleError(error, undefined, request);
  };

  // The hot input does what the route's hooks do — body read and parsed by the same code, the
  // same schema — and answers as the route does (202 `{ack}`). A body the schema refuses is
  // handed to the route with its bytes, so the validation error is the route's own, word for word.
  const inputCheck = TypeCompiler.Compile(InputRequest);
  const maxBodyBytes = runtime.limits.max_body_bytes;
  const sendInput = async (input: HotInput, request: Request, since: number): Promise<Response> => {
    let bytes: Uint8Array | undefined;
    let body: object | undefined;
    try {
      bytes = await readJsonBytes(request, maxBodyBytes);
      body = bytes === undefined ? undefined : parseJsonObject(bytes);
    } catch (error) {
      return refused(error, request, since);
    }
    if (!inputCheck.Check(body)) {
      const again = new Request(request.url, { method: "POST", headers: request.headers, body: bytes as Uint8Array<ArrayBuffer> | undefined });
      return route(again);
    }
    try {
      // As the route does: an Idempotency-Key is checked and fingerprinted, scoped by the grant.
      const options = writeOptionsOf(request, grants, "/v1/workers/:worker_id/input", [input.worker_id], body);
      const ack = await runtime.sendInput(input.worker_id, body, options);
      log?.line("POST", input.path, 202, since, input.route.key);
      return Response.json({ ack }, { status: 202 });
    } catch (error) {
      return refused(error, request, since);
    }
  };

  // The guard in front of a front-door answer: synchronous for the static token (no promise on the
  // hot path); a signed token seen for the first time is verified once, asynchronously.
  const admit = (
    request: Request,
    match: { path: string; route: MatchedRoute },
    go: (passed: Admitted, since: number) => Promise<Response>,
  ): Promise<Response> => {
    const since = log ? performance.now() : 0;
    let passed: Admitted | Promise<Admitted>;
    try {
      passed = guard(request, match.path, match.route);
    } catch (refusal) {
      return Promise.resolve(refused(refusal, request, since));
    }
    if (!(passed instanceof Promise)) return go(passed, since);
    return passed.then(
      (verified) => go(verified, since),
      (error: unknown) => refused(error, request, since),
    );
  };

  const front = (request: Request): Promise<Response> | undefined => {
    // A request dispatched again after its signed token was verified goes the hooks' way.
    if (grants.admitted(request) !== undefined) return undefined;
    if (request.method === "POST") {
      const input = matchHotInput(request);
      if (input === undefined) return undefined;
      return admit(request, input, (passed, since) => {
        grants.remember(request, passed);
        return sendInput(input, request, since);
      });
    }
    const match = hot(request);
    if (match === undefined) return undefined;
    return admit(request, match, (_, since) => answer(match, request, since));
  };

  const admitted = (request: Request, passed: Admitted, since: number): Promise<Response> | undefined => {
    grants.remember(request, passed);
    const match = hot(request);
    if (match === undefined) {
      log?.start(request, since);
      return undefined;
    }
    return answer(match, request, since);
  };

  const onRequest: RequestHook = ({ request }) => {
    const since = firstSeen.get(request) ?? (log ? performance.now() : 0);
    const known = grants.admitted(request);
    if (known !== undefined) return admitted(request, known, since);
    let passed: Admitted | Promise<Admitted>;
    try {
      passed = guard(request, pathOf(request.url));
    } catch (refusal) {
      log?.start(request, since);
      throw refusal;
    }
    if (!(passed instanceof Promise)) return admitted(request, passed, since);
    // A signed token seen for the first time: verified (asynchronously, once — then cached),
    // and the request dispatched again, which finds its grant and goes on synchronously.
    return passed.then(
      (verified) => {
        grants.remember(request, verified);
        firstSeen.set(request, since);
        return dispatch(request);
      },
      (error: unknown) => refused(error, request, since),
    );
  };
  // Declared synchronous with a return value: left to guess from the source, Elysia takes this
  // hook for async and makes every request await it.
  const requestHook: HookContainer<RequestHook> = { fn: onRequest, isAsync: false, hasReturn: true };

  const hooks = new Elysia()
    // `on` is typed for bare functions, but takes Elysia's hook containers too.
    .on("request", requestHook as never)
    // Typed `undefined`: a `Response` here would join every route's success type in Eden; the
    // routes declare their error schemas instead.
    .onError({ as: "global" }, ({ error, code, request }) => handleError(error, code, request) as unknown as undefined)
    // Runs for every answer a handler gives (after Elysia has unwrapped `status(…)` into
    // `set.status`; a returned Response, the event stream, has status 200); returning nothing
    // leaves the response to Elysia's own mapping.
    .mapResponse({ as: "global" }, log ? ({ request, set }) => void log.finish(request, pathOf(request.url), Number(set.status ?? 200)) : []);
  return { hooks, front };
}
