const UNITS: Array<[limit: number, size: number, unit: string]> = [
  [60, 1, "s"],
  [3_600, 60, "m"],
  [86_400, 3_600, "h"],
  [Infinity, 86_400, "d"],
];

/** `5s ago`, `3m ago`, `2h ago`, `4d ago` (or `in 5s` for a clock ahead of ours); `-` for no time. */
export function relativeTime(iso: string | null | undefined, now: number = Date.now()): string {
  if (!iso) return "-";
  const at = Date.parse(iso);
  if (Number.isNaN(at)) return iso;
  const seconds = Math.round((now - at) / 1000);
  const magnitude = Math.abs(seconds);
  if (magnitude < 1) return "just now";
  const [, size, unit] = UNITS.find(([limit]) => magnitude < limit)!;
  const amount = `${Math.floor(magnitude / size)}${unit}`;
  return seconds >= 0 ? `${amount} ago` : `in ${amount}`;
}

/** `850 ms`, `12.4 s`, `3m 05s`: how long something took. */
export function duration(ms: number): string {
  if (ms < 1_000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  return `${minutes}m ${String(Math.floor((ms % 60_000) / 1000)).padStart(2, "0")}s`;
}
