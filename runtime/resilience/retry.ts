import { fullJitterBackoffMs } from "./backoff.js";
import { CircuitOpenError, isStoreUnavailable } from "./circuit-breaker.js";
import { invoke } from "./timeout.js";

export interface RetryOptions {
  /** Retries after the first attempt; 0 turns retrying off. */
  retries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Which errors may be retried. Default: `isRetryableError`. */
  shouldRetry?: ((error: unknown) => boolean) | undefined;
  /** Injectable for tests. Default: a real timer. */
  sleep?: ((ms: number) => Promise<void>) | undefined;
  /** Injectable for tests. Default: Math.random. */
  random?: (() => number) | undefined;
  /** Called before each retry's pause, e.g. to count retries in metrics. */
  onRetry?: ((error: unknown, retry: number, delayMs: number) => void) | undefined;
}

/**
 * STORE_UNAVAILABLE is retryable, except when the circuit breaker refused the call: the point of an open circuit
 * is to fail fast, and the caller gets its `retryAfterMs` instead.
 */
export function isRetryableError(error: unknown): boolean {
  return isStoreUnavailable(error) && !(error instanceof CircuitOpenError);
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Runs `operation` (given the 1-based attempt number) up to `retries + 1` times, pausing between attempts with
 * full-jitter exponential backoff. Rethrows the last error, or the first one that is not retryable.
 */
export async function withRetry<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  const shouldRetry = options.shouldRetry ?? isRetryableError;
  const pause = options.sleep ?? sleep;
  for (let attempt = 1; ; attempt++) {
    try {
      return await invoke(() => operation(attempt));
    } catch (error) {
      if (attempt > options.retries || !shouldRetry(error)) throw error;
      const delayMs = fullJitterBackoffMs(
        attempt,
        options.backoffBaseMs,
        options.backoffMaxMs,
        options.random,
      );
      options.onRetry?.(error, attempt, delayMs);
      await pause(delayMs);
    }
  }
}
