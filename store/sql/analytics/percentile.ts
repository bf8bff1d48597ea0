/**
 * The nearest-rank percentile of samples sorted ascending: the smallest sample with at least `p` percent of the
 * samples at or below it. 0 for no samples.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[Math.min(rank, sorted.length) - 1] ?? 0;
}
