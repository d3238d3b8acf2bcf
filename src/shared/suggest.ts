/**
 * "Did you mean …?" for a mistyped name: the closest known name, when it is close enough to be
 * the likely intent (an edit distance of at most a third of the name, and at least 1), else the
 * one known name it abbreviates (`delay` for `delay_ms`).
 */
export function closest(name: string, known: Iterable<string>): string | null {
  let best: string | null = null;
  let bestDistance = Infinity;
  const lower = name.toLowerCase();
  const names = [...known];
  const extended = lower.length >= 3 ? names.filter((candidate) => candidate.toLowerCase().startsWith(lower)) : [];
  for (const candidate of names) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  const allowed = Math.max(1, Math.floor(name.length / 3));
  if (best !== null && bestDistance <= allowed) return best;
  return extended.length === 1 ? extended[0]! : null;
}

/** ` (did you mean "x"?)`, or nothing when no known name is close. */
export function didYouMean(name: string, known: Iterable<string>, quote: (name: string) => string = (n) => JSON.stringify(n)): string {
  const match = closest(name, known);
  return match === null ? "" : ` (did you mean ${quote(match)}?)`;
}

/** Optimal string alignment distance: insertions, deletions, substitutions and adjacent swaps. */
function editDistance(a: string, b: string): number {
  const rows = a.length + 1;
  const cols = b.length + 1;
  const d: number[][] = Array.from({ length: rows }, (_, i) => Array.from({ length: cols }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i < rows; i++) {
    for (let j = 1; j < cols; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}
