// The package validates the text format line by line, but folds every labelled histogram of a
// family into one series (its flattenMetrics keeps no labels), so values are read by the strict
// parser below and the package serves as an independent syntax check.
// @ts-expect-error untyped module
import parsePrometheusTextFormat from "parse-prometheus-text-format";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Exposition {
  types: Map<string, string>;
  samples: Sample[];
  /** A counter's or gauge's value, or a histogram's `_count`, for exactly these labels; 0 when absent. */
  value(name: string, labels?: Record<string, string>): number;
  /** A histogram's `_sum` for exactly these labels. */
  sum(name: string, labels?: Record<string, string>): number;
}

const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/;
const LABEL = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*(,|$)/y;

/** Parses Prometheus text format 0.0.4 strictly: any line it does not understand throws. */
export function parseExposition(text: string): Exposition {
  const families = parsePrometheusTextFormat(text) as { name: string; type: string }[];
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  if (!text.endsWith("\n")) throw new Error("exposition must end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("# HELP ")) continue;
    if (line.startsWith("# TYPE ")) {
      const [name, type, ...rest] = line.slice(7).split(" ");
      if (!name || !type || rest.length > 0 || !["counter", "gauge", "histogram", "summary", "untyped"].includes(type)) {
        throw new Error(`bad TYPE line: ${line}`);
      }
      if (types.has(name)) throw new Error(`TYPE twice for ${name}`);
      types.set(name, type);
      continue;
    }
    if (line.startsWith("#")) continue;
    const match = SAMPLE.exec(line);
    if (!match) throw new Error(`bad sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? "";
    LABEL.lastIndex = 0;
    while (LABEL.lastIndex < body.length) {
      const label = LABEL.exec(body);
      if (!label) throw new Error(`bad labels: ${line}`);
      labels[label[1]!] = label[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    }
    const raw = match[3]!;
    const value = raw === "+Inf" ? Infinity : raw === "-Inf" ? -Infinity : Number(raw);
    if (Number.isNaN(value) && raw !== "NaN") throw new Error(`bad value: ${line}`);
    samples.push({ name: match[1]!, labels, value });
  }
  for (const family of families) if (types.get(family.name) !== family.type.toLowerCase()) throw new Error(`type mismatch for ${family.name}`);
  const same = (a: Record<string, string>, b: Record<string, string>) =>
    Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
  const find = (name: string, labels: Record<string, string>) => samples.find((s) => s.name === name && same(s.labels, labels));
  // Histogram invariants: cumulative buckets ending at +Inf == _count.
  for (const [name, type] of types) {
    if (type !== "histogram") continue;
    for (const count of samples.filter((s) => s.name === `${name}_count`)) {
      const buckets = samples.filter((s) => s.name === `${name}_bucket` && same({ ...s.labels, le: "" }, { ...count.labels, le: "" }));
      for (let i = 1; i < buckets.length; i++) if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${name}: buckets not cumulative`);
      if (buckets.at(-1)?.labels.le !== "+Inf" || buckets.at(-1)!.value !== count.value) throw new Error(`${name}: +Inf bucket != _count`);
    }
  }
  return {
    types,
    samples,
    value(name, labels = {}) {
      const suffix = types.get(name) === "histogram" ? "_count" : "";
      if (!types.has(name)) throw new Error(`no metric ${name}`);
      return find(`${name}${suffix}`, labels)?.value ?? 0;
    },
    sum(name, labels = {}) {
      return find(`${name}_sum`, labels)?.value ?? 0;
    },
  };
}
