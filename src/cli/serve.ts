import { defineCommand } from "citty";
import { CONFIG_EXIT_CODE } from "../config/errors.ts";
import { RuntimeError } from "../core/errors.ts";
import { Runtime, type RuntimeLogger } from "../core/runtime.ts";
import { DEFAULT_KILL_GRACE_MS } from "../execution/command.ts";
import { builtinBackends } from "../execution/index.ts";
import { ProcessGroup } from "../execution/process-group.ts";
import { exit, listen, ListenError, onShutdownSignal, type FetchHandler, type Listener } from "../platform/index.ts";
import { createApp } from "../server/app.ts";
import { metricsFetch } from "../server/metrics/metrics-endpoint.ts";
import { createRuntimeMetrics } from "../server/metrics/runtime-metrics.ts";
import { openingFetch } from "../server/opening.ts";
import { createTokenVerifier } from "../server/token-verifier.ts";
import { isLongLived } from "../server/long-lived.ts";
import { errnoCode, messageOf } from "../shared/errors.ts";
import { sleep } from "../shared/sleep.ts";
import type { ResolvedConfig } from "../config/resolved.ts";
import { VERSION } from "../version.ts";
import { serveFlags, type ServeArgs } from "./flags.ts";
import { createLogger } from "./logger.ts";
import { createStore } from "./open-store.ts";
import { openWorkspaces } from "./open-workspaces.ts";
import { watchKeySet } from "./public-keys.ts";
import { resolveServeSetup } from "./resolve-config.ts";
import { StartupError } from "./startup-error.ts";

/** SPEC §11 allows 5 s from the signal to the exit; what is still running after this is cut. */
export const SHUTDOWN_DEADLINE_MS = 4_500;
/** How long in-flight responses (a `?wait=` answered by the shutdown) get to be sent once the runtime closed. */
const DRAIN_MS = 500;

/** Core failures that mean the configuration is wrong rather than the environment. */
const CONFIG_CODES = new Set(["invalid_request", "unknown_profile"]);

const DATA_DIR = "--data-dir / store.root";

export const serveCommand = defineCommand({
  meta: { name: "serve", description: "Run the runtime and serve its HTTP API (the default command)" },
  args: serveFlags,
  run: async ({ args }) => {
    process.exitCode = await serve(args as ServeArgs);
  },
});

/**
 * Runs until SIGINT/SIGTERM; resolves with the exit status. A refused configuration throws
 * `ConfigError` before anything is opened; a failure to start (store locked or of another
 * runtime, port in use) throws `StartupError`: one sentence naming the flag or key, printed by
 * `main` whatever the log format.
 */
export async function serve(args: ServeArgs): Promise<number> {
  const { config, token, keys, env } = resolveServeSetup(args);
  const logger = await createLogger(config.log);
  const metrics = createRuntimeMetrics();
  const store = createStore(config.store, logger, (commit) => {
    metrics.store.commit(commit.records, commit.fsync_s);
    metrics.store.journalBytes(commit.journal_bytes);
  });

  // Every start on the host ends what runtimes that died left running, whatever this one's profiles.
  ProcessGroup.reapOrphans(DEFAULT_KILL_GRACE_MS);

  // Listening before the store opens: meanwhile /healthz answers and /readyz says "opening", so
  // a load balancer can tell a restoring runtime from a dead one.
  let handler: FetchHandler = openingFetch;
  let listener: Listener;
  try {
    listener = await listen((request) => handler(request), { ...config.server.address, isLongLived });
  } catch (error) {
    throw listenFailure("--bind / server.bind", error);
  }
  let runtime: Runtime;
  try {
    const workspaces = await openWorkspaces(config, logger);
    runtime = await Runtime.open({
      workspaces,
      store,
      backends: builtinBackends,
      runtime_id: config.runtime_id ?? undefined,
      display_name: config.display_name,
      profiles: config.profiles,
      default_profile: config.default_profile,
      limits: config.limits,
      version: VERSION,
      logger,
      env,
    });
  } catch (error) {
    await listener.stop(true);
    throw openFailure(error, config.store);
  }

  const verifier =
    keys === null
      ? null
      : createTokenVerifier({
          keys,
          audience: runtime.runtime_id,
          issuer: config.auth.issuer,
          max_token_lifetime_s: config.auth.max_token_lifetime_s,
          clock_skew_s: config.auth.clock_skew_s,
        });
  const stopWatchingKeys = keys === null ? () => {} : watchKeySet(config.auth.public_keys_file!, keys, logger);
  const app = createApp(runtime, { token, verifier, logger, metrics });
  handler = app.fetch;
  let metricsListener: Listener | null = null;
  if (config.server.metrics_address !== null) {
    try {
      metricsListener = await listen(metricsFetch(metrics.registry), config.server.metrics_address);
    } catch (error) {
      stopWatchingKeys();
      await runtime.close().catch(() => {});
      await listener.stop(true);
      throw listenFailure("--metrics-bind / server.metrics_bind", error);
    }
  }

  return new Promise<number>((resolve) => {
    let stopping = false;
    const removeHandlers = onShutdownSignal((signal) => {
      if (stopping) {
        logger.warn("second signal: exiting without waiting", { signal });
        void exit(1);
        return;
      }
      stopping = true;
      logger.info("shutting down", { signal });
      const deadline = setTimeout(() => {
        logger.error(`shutdown did not finish within ${SHUTDOWN_DEADLINE_MS} ms; exiting`);
        void exit(1);
      }, SHUTDOWN_DEADLINE_MS);
      stopWatchingKeys();
      metrics.close();
      void metricsListener?.stop(true);
      void shutdown(listener, runtime, logger).then((code) => {
        clearTimeout(deadline);
        removeHandlers();
        resolve(code);
      });
    });
    // Logged once the handlers are in place: whoever waits for this line may signal at once.
    logger.info(`listening on ${listener.url}`, {
      url: listener.url,
      runtime_id: runtime.runtime_id,
      store: config.store.kind,
      ...(config.store.kind === "fs" ? { data_dir: config.store.root } : {}),
      auth: [token === null ? null : "bearer token", keys === null ? null : "signed tokens"].filter(Boolean).join(" + ") || "none",
      ...(metricsListener ? { metrics_url: `${metricsListener.url}/metrics` } : {}),
      version: VERSION,
    });
  });
}

/** Stop accepting, interrupt active runs and flush the store, then cut what is left. */
async function shutdown(listener: Listener, runtime: Runtime, logger: RuntimeLogger): Promise<number> {
  const drained = listener.stop(false);
  let code = 0;
  try {
    await runtime.close();
  } catch (error) {
    logger.error("closing the runtime failed", { error: messageOf(error) });
    code = 1;
  }
  await Promise.race([drained, sleep(DRAIN_MS)]);
  await listener.stop(true);
  logger.info("stopped");
  return code;
}

/** Why listening on an address failed, naming the flag and key that set it. */
function listenFailure(flag: string, error: unknown): StartupError {
  const why = error instanceof ListenError ? error.message : `cannot start the HTTP server: ${messageOf(error)}`;
  return new StartupError(`${flag}: ${why}`, error instanceof ListenError && error.code ? error.code : "listen_failed", 1);
}

/** Why `Runtime.open` failed, as one sentence naming what to change. */
function openFailure(error: unknown, store: ResolvedConfig["store"]): StartupError {
  if (error instanceof RuntimeError) {
    if (CONFIG_CODES.has(error.code)) return new StartupError(error.message, error.code, CONFIG_EXIT_CODE);
    if (error.code === "store_runtime_mismatch") return new StartupError(`--runtime-id / runtime_id: ${error.message}`, error.code, 1);
    if (error.code.startsWith("store_")) return new StartupError(`${DATA_DIR}: ${error.message}`, error.code, 1);
    return new StartupError(`cannot open the runtime: ${error.message}`, error.code, 1);
  }
  const errno = errnoCode(error);
  if (store.kind === "fs" && typeof errno === "string") {
    return new StartupError(`${DATA_DIR}: cannot open the store at ${store.root}: ${errnoText(errno, error)}`, "store_io", 1);
  }
  return new StartupError(`cannot open the runtime: ${messageOf(error)}`, "internal", 1);
}

/** An errno as words, e.g. `permission denied` rather than `EACCES: permission denied, mkdir '…'`. */
function errnoText(errno: string, error: unknown): string {
  const words: Record<string, string> = {
    EACCES: "permission denied",
    EPERM: "operation not permitted",
    EEXIST: "a file is in the way",
    ENOTDIR: "a part of the path is a file, not a directory",
    EROFS: "the file system is read-only",
    ENOSPC: "no space left on the device",
    EDQUOT: "the disk quota is exhausted",
    EIO: "an input/output error",
  };
  return words[errno] ?? messageOf(error);
}
