/**
 * A small Prometheus registry: counters, gauges and histograms with labels, written out in the
 * text exposition format 0.0.4. Hand-written rather than prom-client (see docs/metrics.md):
 * prom-client loads `cluster`, `http`, `zlib` and `@opentelemetry/api` on import (≈75 ms of
 * start-up on Bun, ≈170 ms on Deno, ~5 MB of dependencies) and costs ~1 µs per labelled update
 * on the request path, for a format this file writes in under 200 lines.
 */

export const EXPOSITION_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type LabelValues = readonly string[];

interface Metric {
  readonly name: string;
  /** Appends this metric's lines to `out`. */
  write(out: string[]): void;
}

const escapeHelp = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
const escapeLabel = (text: string): string => text.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');

function formatNumber(value: number): string {
  if (Number.isNaN(value)) return "NaN";
  if (value === Infinity) return "+Inf";
  if (value === -Infinity) return "-Inf";
  return String(value);
}

function labelText(names: readonly string[], values: LabelValues, extra?: string): string {
  const parts = names.map((name, i) => `${name}="${escapeLabel(values[i]!)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** One series per distinct label values, keyed by the values joined with a separator no label holds. */
abstract class Family<Series> implements Metric {
  protected readonly series = new Map<string, { values: LabelValues; data: Series }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
    private readonly type: "counter" | "gauge" | "histogram",
  ) {
    if (!NAME.test(name)) throw new Error(`invalid metric name ${name}`);
    for (const label of labelNames) if (!LABEL.test(label) || label === "le") throw new Error(`invalid label ${label}`);
  }

  protected abstract create(): Series;

  /**
   * The series for these label values (created at zero on first use). A hot path keeps what this
   * returns and updates it in place: looking a series up costs a key string per call.
   */
  seriesOf(values: LabelValues): Series {
    return this.at(values);
  }

  protected at(values: LabelValues): Series {
    const key = values.length === 0 ? "" : values.length === 1 ? values[0]! : values.join("\u0000");
    let entry = this.series.get(key);
    if (entry === undefined) {
      if (values.length !== this.labelNames.length) throw new Error(`${this.name} takes labels ${this.labelNames.join(", ")}`);
      entry = { values: [...values], data: this.create() };
      this.series.set(key, entry);
    }
    return entry.data;
  }

  write(out: string[]): void {
    out.push(`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`);
    for (const { values, data } of this.series.values()) this.writeSeries(out, values, data);
  }

  protected abstract writeSeries(out: string[], values: LabelValues, data: Series): void;
}

export class Counter extends Family<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, "counter");
    if (labelNames.length === 0) this.at([]);
  }
  protected create() {
    return { value: 0 };
  }
  inc(values: LabelValues = [], by = 1): void {
    this.at(values).value += by;
  }
  protected writeSeries(out: string[], values: LabelValues, data: { value: number }): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(data.value)}`);
  }
}

export class Gauge extends Family<{ value: number }> {
  constructor(name: string, help: string, labelNames: readonly string[] = []) {
    super(name, help, labelNames, "gauge");
    if (labelNames.length === 0) this.at([]);
  }
  protected create() {
    return { value: 0 };
  }
  set(value: number, values: LabelValues = []): void {
    this.at(values).value = value;
  }
  inc(values: LabelValues = [], by = 1): void {
    this.at(values).value += by;
  }
  protected writeSeries(out: string[], values: LabelValues, data: { value: number }): void {
    out.push(`${this.name}${labelText(this.labelNames, values)} ${formatNumber(data.value)}`);
  }
}

interface Buckets {
  /** Non-cumulative counts per bucket; the last slot is +Inf. */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram extends Family<Buckets> {
  private readonly bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames, "histogram");
    this.bounds = [...buckets].sort((a, b) => a - b);
    if (labelNames.length === 0) this.at([]);
  }
  protected create(): Buckets {
    return { counts: new Array<number>(this.bounds.length + 1).fill(0), sum: 0, count: 0 };
  }
  observe(value: number, values: LabelValues = []): void {
    this.observeInto(this.at(values), value);
  }
  /** Observes into a series kept from `series()`. */
  observeInto(data: Buckets, value: number): void {
    let i = 0;
    while (i < this.bounds.length && value > this.bounds[i]!) i++;
    data.counts[i]!++;
    data.sum += value;
    data.count++;
  }
  protected writeSeries(out: string[], values: LabelValues, data: Buckets): void {
    let cumulative = 0;
    for (let i = 0; i <= this.bounds.length; i++) {
      cumulative += data.counts[i]!;
      const le = i < this.bounds.length ? formatNumber(this.bounds[i]!) : "+Inf";
      out.push(`${this.name}_bucket${labelText(this.labelNames, values, `le="${le}"`)} ${cumulative}`);
    }
    out.push(`${this.name}_sum${labelText(this.labelNames, values)} ${formatNumber(data.sum)}`);
    out.push(`${this.name}_count${labelText(this.labelNames, values)} ${data.count}`);
  }
}

/** Seconds buckets from 1 ms to 60 s: request, fsync and run durations alike. */
export const SECONDS_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];

export class Registry {
  private readonly metrics = new Map<string, Metric>();
  private readonly collectors: (() => void | Promise<void>)[] = [];

  register<M extends Metric>(metric: M): M {
    if (this.metrics.has(metric.name)) throw new Error(`metric ${metric.name} registered twice`);
    this.metrics.set(metric.name, metric);
    return metric;
  }

  /** Runs before each exposition: for gauges read at scrape time (workers by status, RSS). */
  onCollect(collect: () => void | Promise<void>): void {
    this.collectors.push(collect);
  }

  async exposition(): Promise<string> {
    for (const collect of this.collectors) await collect();
    const out: string[] = [];
    for (const metric of this.metrics.values()) metric.write(out);
    return `${out.join("\n")}\n`;
  }
}
