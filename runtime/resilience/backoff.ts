/**
 * Exponential backoff with full jitter: a uniformly random delay in [0, min(max, base * 2^(attempt-1))].
 * Full jitter spreads retries of many consumers that failed together (AWS architecture blog, "Exponential
 * Backoff And Jitter").
 */
export function backoffCeilingMs(attempt: number, baseMs: number, maxMs: number): number {
  return Math.min(maxMs, baseMs * 2 ** Math.max(0, attempt - 1));
}

export function fullJitterBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  random: () => number = Math.random,
): number {
  return Math.floor(random() * (backoffCeilingMs(attempt, baseMs, maxMs) + 1));
}
