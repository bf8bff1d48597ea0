import { backoffCeilingMs, fullJitterBackoffMs } from "../runtime/resilience/backoff.js";

export { backoffCeilingMs };

/**
 * The pause before forward attempt `attempt + 1` after `attempt` failed: exponential with full jitter, in
 * [0, min(maxMs, baseMs * 2^(attempt-1))], but never shorter than a peer's `Retry-After` hint.
 */
export function forwardBackoffMs(
  attempt: number,
  baseMs: number,
  maxMs: number,
  options: { retryAfterMs?: number | undefined; random?: () => number } = {},
): number {
  const jittered = fullJitterBackoffMs(attempt, baseMs, maxMs, options.random);
  return Math.max(jittered, Math.min(options.retryAfterMs ?? 0, maxMs));
}
