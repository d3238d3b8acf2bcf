import type { Runtime } from "../../core/runtime.ts";
import type { RuntimeEvent } from "../../core/schema/event.ts";
import { processStats } from "../../platform/index.ts";
import { Counter, Gauge, Histogram, Registry, SECONDS_BUCKETS } from "./registry.ts";

/** Batch sizes of the store's group commit: 1 (no concurrency) to thousands (a burst). */
const BATCH_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];
/** Event-loop lag is sampled this often; the gauge holds the last sample. */
const LAG_SAMPLE_MS = 500;

/** What the HTTP layer reports per request (route = the table's template, never the raw path). */
export interface HttpMetrics {
  request(method: string, route: string, status: number, seconds: number): void;
  sseOpened(): void;
  sseClosed(dropped: boolean): void;
}

/** What the store reports per group commit (wired by the process that builds the store). */
export interface StoreMetrics {
  commit(entries: number, fsyncSeconds: number | null): void;
  journalBytes(bytes: number): void;
}

export interface RuntimeMetrics {
  registry: Registry;
  http: HttpMetrics;
  store: StoreMetrics;
  /**
   * Starts reading this runtime: its events (runs) and, at each scrape, its summary. Made apart
   * from creation because the store reports into `store` before the runtime that opens it exists.
   * A second call is ignored.
   */
  attach(runtime: Runtime): void;
  /** Stops following the runtime's events and sampling the event loop. */
  close(): void;
}

/**
 * The metrics of issue 15 over one Runtime. Run counts and durations come from the runtime's
 * events (`Runtime.observe`: a synchronous observer, no queue), so the core holds no metrics code;
 * worker counts and the last event id are read from `summary()` at scrape time.
 */
export function createRuntimeMetrics(): RuntimeMetrics {
  const registry = new Registry();
  const workers = registry.register(new Gauge("yoi_workers", "Workers by status", ["status"]));
  const lastEventId = registry.register(new Gauge("yoi_last_event_id", "Id of the last stored event"));
  const runsStarted = registry.register(new Counter("yoi_runs_started_total", "Runs started, by profile", ["profile"]));
  const runsEnded = registry.register(new Counter("yoi_runs_ended_total", "Runs ended, by profile and final status", ["profile", "status"]));
  const runDuration = registry.register(
    new Histogram("yoi_run_duration_seconds", "Run duration from start to end, by profile and final status", ["profile", "status"], SECONDS_BUCKETS),
  );
  const firstDelta = registry.register(
    new Histogram("yoi_first_delta_latency_seconds", "Time from accepted input to the run's first output delta, by profile", ["profile"], SECONDS_BUCKETS),
  );
  const httpRequests = registry.register(
    new Counter("yoi_http_requests_total", "HTTP requests by method, route template and status", ["method", "route", "status"]),
  );
  const httpDuration = registry.register(
    new Histogram("yoi_http_request_duration_seconds", "HTTP request duration to the response head, by method and route template", ["method", "route"], SECONDS_BUCKETS),
  );
  // route → method → its series, so a request finds them without building label strings.
  const httpSeries = new Map<string, Map<string, { duration: ReturnType<Histogram["seriesOf"]>; byStatus: Map<number, { value: number }> }>>();
  const sseSubscribers = registry.register(new Gauge("yoi_sse_subscribers", "Open event streams"));
  const sseDropped = registry.register(
    new Counter("yoi_sse_dropped_subscribers_total", "Event streams ended because the client fell too far behind (overflow)"),
  );
  const batchSize = registry.register(new Histogram("yoi_store_batch_size", "Records per store group commit", [], BATCH_BUCKETS));
  const fsyncDuration = registry.register(new Histogram("yoi_store_fsync_duration_seconds", "Duration of the store's fsyncs per commit", [], SECONDS_BUCKETS));
  const journalBytes = registry.register(new Gauge("yoi_store_journal_bytes", "Bytes in the store's journal"));
  const rss = registry.register(new Gauge("process_resident_memory_bytes", "Resident memory size in bytes"));
  const openFds = registry.register(new Gauge("process_open_fds", "Open file descriptors (Linux only)"));
  const lag = registry.register(new Gauge("yoi_event_loop_lag_seconds", "Event-loop lag: how late a timer fired, last sample"));

  let runtime: Runtime | null = null;
  registry.onCollect(async () => {
    const summary = runtime === null ? null : await runtime.summary().catch(() => null);
    if (summary) {
      for (const status of ["idle", "running", "stopped", "unavailable"] as const) workers.set(summary.workers[status], [status]);
      lastEventId.set(summary.last_event_id);
    }
    const stats = processStats();
    rss.set(stats.rss_bytes);
    if (stats.open_fds !== null) openFds.set(stats.open_fds);
  });

  // How late a timer fires is the lag every request waits behind.
  let expected = performance.now() + LAG_SAMPLE_MS;
  const sampler = setInterval(() => {
    const now = performance.now();
    lag.set(Math.max(0, now - expected) / 1000);
    expected = now + LAG_SAMPLE_MS;
  }, LAG_SAMPLE_MS);
  (sampler as { unref?: () => void }).unref?.();

  let unfollow = (): void => {};
  // Every run reports three times: its series are found by profile (and status) in maps and
  // updated in place, as the HTTP series are.
  // A series appears in the exposition once it is first used, as before.
  type Buckets = ReturnType<Histogram["seriesOf"]>;
  const startedBy = new Map<string, { value: number }>();
  const firstDeltaBy = new Map<string, Buckets>();
  const endedBy = new Map<string, Map<string, { count: { value: number }; duration: Buckets }>>();
  const runs: RunObserver = {
    started: (profile) => {
      let series = startedBy.get(profile);
      if (series === undefined) startedBy.set(profile, (series = runsStarted.seriesOf([profile])));
      series.value++;
    },
    ended: (profile, status, seconds) => {
      let byStatus = endedBy.get(profile);
      if (byStatus === undefined) endedBy.set(profile, (byStatus = new Map()));
      let series = byStatus.get(status);
      if (series === undefined) {
        series = { count: runsEnded.seriesOf([profile, status]), duration: runDuration.seriesOf([profile, status]) };
        byStatus.set(status, series);
      }
      series.count.value++;
      if (seconds !== null) runDuration.observeInto(series.duration, seconds);
    },
    firstDelta: (profile, seconds) => {
      let series = firstDeltaBy.get(profile);
      if (series === undefined) firstDeltaBy.set(profile, (series = firstDelta.seriesOf([profile])));
      firstDelta.observeInto(series, seconds);
    },
    // The sampler and the observer end with the runtime (the scrape still answers, from the last values).
    stopped: () => {
      clearInterval(sampler);
      unfollow();
    },
  };

  return {
    registry,
    attach(target) {
      if (runtime !== null) return;
      runtime = target;
      unfollow = followRuns(target, runs);
    },
    http: {
      request(method, route, status, seconds) {
        // Every request lands here: its series are looked up by constant strings and a number,
        // and updated in place (no label arrays or key strings per request).
        let byMethod = httpSeries.get(route);
        if (byMethod === undefined) httpSeries.set(route, (byMethod = new Map()));
        let series = byMethod.get(method);
        if (series === undefined) {
          series = { duration: httpDuration.seriesOf([method, route]), byStatus: new Map() };
          byMethod.set(method, series);
        }
        let count = series.byStatus.get(status);
        if (count === undefined) series.byStatus.set(status, (count = httpRequests.seriesOf([method, route, String(status)])));
        count.value++;
        httpDuration.observeInto(series.duration, seconds);
      },
      sseOpened: () => sseSubscribers.inc(),
      sseClosed(dropped) {
        sseSubscribers.inc([], -1);
        if (dropped) sseDropped.inc();
      },
    },
    store: {
      commit(entries, fsyncSeconds) {
        batchSize.observe(entries);
        if (fsyncSeconds !== null) fsyncDuration.observe(fsyncSeconds);
      },
      journalBytes: (bytes) => journalBytes.set(bytes),
    },
    close() {
      clearInterval(sampler);
      unfollow();
    },
  };
}

interface RunObserver {
  /** The runtime recorded `runtime_stopped`: nothing more will happen. */
  stopped(): void;
  started(profile: string): void;
  ended(profile: string, status: string, seconds: number | null): void;
  firstDelta(profile: string, seconds: number): void;
}

/** Counts runs from the runtime's events until the returned function is called. */
function followRuns(runtime: Runtime, observe: RunObserver): () => void {
  // Observed synchronously as published, so performance.now() is when each event happened.
  // run_id → profile and when its input was accepted, until its first delta (or its end).
  const awaitingDelta = new Map<string, { profile: string; accepted_at: number }>();
  const acceptedAt = new Map<string, number>();
  return runtime.observe(handle);

  function handle(event: RuntimeEvent): void {
    if (event.kind === "runtime_stopped") {
      observe.stopped();
      return;
    }
    const run_id = event.run_id;
    if (run_id === null) return;
    switch (event.kind) {
      case "worker_input_accepted":
        acceptedAt.set(run_id, performance.now());
        return;
      case "run_started": {
        const profile = event.data.profile;
        observe.started(profile);
        awaitingDelta.set(run_id, { profile, accepted_at: acceptedAt.get(run_id) ?? performance.now() });
        acceptedAt.delete(run_id);
        return;
      }
      case "run_output_delta": {
        const waiting = awaitingDelta.get(run_id);
        if (waiting === undefined) return;
        awaitingDelta.delete(run_id);
        observe.firstDelta(waiting.profile, (performance.now() - waiting.accepted_at) / 1000);
        return;
      }
      case "run_completed":
      case "run_failed":
      case "run_cancelled":
      case "run_timed_out":
      case "run_interrupted": {
        awaitingDelta.delete(run_id);
        acceptedAt.delete(run_id);
        const run = event.data.run;
        const seconds = run.finished_at ? Math.max(0, Date.parse(run.finished_at) - Date.parse(run.started_at)) / 1000 : null;
        observe.ended(run.profile, run.status, seconds);
      }
    }
  }
}
