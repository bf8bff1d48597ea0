import type { MessageStore } from "../../store/store.js";
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

/** Every call of the store contract (everything but the `kind` and `durable` fields). */
export type StoreOperation = {
  [K in keyof MessageStore]: MessageStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof MessageStore];

/**
 * Which store calls may be repeated after a STORE_UNAVAILABLE failure. Such a failure (above all a timeout) is
 * ambiguous: the backend may have applied the call and only the answer was lost. So only calls whose repeat
 * cannot change the outcome are retried; the others surface the error and let the caller decide. Transaction
 * bookkeeping is not listed as retryable: it lives in the sidecar process (docs/store-contract.md) and never
 * fails for want of a backend.
 */
export const RETRYABLE_OPERATIONS: Readonly<Record<StoreOperation, boolean>> = {
  // Dedupe by message id (and dedupekey) within the dedupe window accepts a repeat once. If the lost attempt
  // did land, the repeat answers `duplicate: true`: the message is queued exactly once either way. (Assumes a
  // dedupe window longer than a few retries: set `retryable.enqueue = false` for a window of 0.)
  enqueue: true,
  // Each recipient's enqueue is its own deduped step, so a repeat fills in the recipients the lost attempt
  // missed; `recipients` then names only those.
  publish: true,
  // NOT retried: a receive that timed out may have leased messages whose lease ids never reached us. A repeat
  // would lease further messages while the lost ones stay invisible until their leases expire (and count as an
  // attempt). The consumer simply polls again.
  receive: false,
  // NOT retried: if the lost attempt settled the lease, a repeat answers LEASE_NOT_FOUND, turning a success
  // into a client error. The caller sees STORE_UNAVAILABLE and may ack again, reading LEASE_NOT_FOUND as
  // "probably done"; an unsettled lease just expires and the message is redelivered (at-least-once).
  ack: false,
  // NOT retried, as `ack`: a lease the lost attempt settled would be reported failed (LEASE_NOT_FOUND).
  ackMany: false,
  // NOT retried: a nack counts an attempt and may dead-letter; if it landed, the repeat is LEASE_NOT_FOUND.
  nack: false,
  // Sets expiry to now + leaseMs under the same token: repeating it is harmless.
  extendLease: true,
  // Set add/remove: the state converges. A repeated unsubscribe may answer `false` ("was not subscribed")
  // when the lost attempt removed it.
  subscribe: true,
  unsubscribe: true,
  // Reads.
  listSubscriptions: true,
  // In-process transaction buffer: never retried (and not guarded, see ResilientStore).
  beginTransaction: false,
  savepoint: false,
  rollbackToSavepoint: false,
  rollback: false,
  // NOT retried: commit takes the buffered writes out of the transaction before applying them, so a repeat
  // answers TX_NOT_FOUND; and whether the lost attempt applied is unknown (a cross-slot commit that was logged
  // is finished by the store's own transaction-log replay).
  commit: false,
  // Reads.
  listDeadLetters: true,
  listDeadLetterPage: true,
  listQueuePage: true,
  // Deleting what is gone already changes nothing.
  deleteQueue: true,
  memoryStatus: true,
  getDeadLetter: true,
  // NOT retried: replay re-enqueues bypassing dedupe, then removes the dead letter, one letter at a time; a
  // repeat after partial progress could queue a letter twice.
  replayDeadLetters: false,
  // NOT retried: with a `limit`, a repeat after partial progress would purge a further batch beyond what was
  // asked for.
  purgeDeadLetters: false,
  // Reads.
  traceOf: true,
  traceByCorrelation: true,
  queueStats: true,
  listQueues: true,
  // Upserts of the agent's record (registeredAt is kept): repeating converges on the same registration.
  registerAgent: true,
  // Moves the expiry to now + ttl again: harmless.
  heartbeat: true,
  // Hash delete: converges; a repeat may answer `false` when the lost attempt deleted it.
  deregisterAgent: true,
  listAgents: true,
  // NOT retried: readiness wants the backend's state now, not after backoff.
  ping: false,
  // NOT retried: shutdown.
  close: false,
};
