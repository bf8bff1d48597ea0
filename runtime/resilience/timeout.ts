import { StoreUnavailableError } from "../../core/errors.js";
import { raceTimeout } from "../../core/race-timeout.js";

/** setTimeout clamps larger delays to 1 ms, so longer timeouts are capped here (about 24.8 days). */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Runs `operation` and rejects with STORE_UNAVAILABLE if it has not settled within `ms`. The operation itself
 * cannot be cancelled: it may still complete (and change state) after the timeout, so a timed-out call has an
 * ambiguous outcome. A non-finite `ms` means no timeout.
 */
export async function withTimeout<T>(operation: () => Promise<T>, ms: number): Promise<T> {
  const pending = invoke(operation);
  if (!Number.isFinite(ms)) return pending;
  const limit = Math.min(Math.max(0, Math.ceil(ms)), MAX_TIMER_MS);
  return await raceTimeout(
    pending,
    limit,
    () => new StoreUnavailableError(`store call timed out after ${limit} ms`),
  );
}

/** Calls `operation` now, turning a synchronous throw into a rejection (with the value thrown, unchanged). */
export async function invoke<T>(operation: () => Promise<T>): Promise<T> {
  return await operation();
}
