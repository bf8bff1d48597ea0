import type { MessageStore } from "./store.js";

/** Every call of the store contract (everything but the `kind` and `durable` fields). */
export type StoreOperation = {
  [K in keyof MessageStore]: MessageStore[K] extends (...args: never[]) => unknown ? K : never;
}[keyof MessageStore];

/**
 * How ResilientStore guards a call:
 * - `data`: the send/receive path, each attempt under the timeout inside the circuit breaker;
 * - `admin`: administrative and observability calls, under the timeout but outside the breaker both ways. A slow
 *   list over many queues must not open the circuit that sends and receives depend on, nor be refused by it;
 * - `bulk`: `admin` with the longer bulk timeout (DLQ purge and replay work through any number of letters);
 * - `local`: in-process bookkeeping (the transaction buffer) that never reaches the backend: no guard at all, so
 *   a local success does not count as the backend being healthy;
 * - `shutdown`: the timeout only, so `close` reaches the backend even while the circuit is open.
 */
export type GuardClass = "data" | "admin" | "bulk" | "local" | "shutdown";

export interface OperationPolicy {
  guard: GuardClass;
  /** May be repeated after a STORE_UNAVAILABLE failure (see STORE_OPERATIONS for why or why not). */
  retryable: boolean;
  /**
   * The position of the call's options argument when a `tx` in it changes the guard: the write is buffered in this
   * process (`local`), or reads the backend now and buffers the writes (`once`: timeout and breaker, no retry,
   * since a repeat could buffer the writes twice).
   */
  inTransaction?: { optionsArg: number; guard: "local" | "once" };
  /** The position of the options argument whose `waitMs` extends the timeout (a long poll). */
  longPollArg?: number;
}

/**
 * The one table of the store's operations: how each is guarded and whether it may be retried. A STORE_UNAVAILABLE
 * failure (above all a timeout) is ambiguous: the backend may have applied the call and only the answer was lost.
 * So only calls whose repeat cannot change the outcome are retried; the others surface the error and let the
 * caller decide.
 */
export const STORE_OPERATIONS: Readonly<Record<StoreOperation, OperationPolicy>> = {
  // ---- queues and leases
  // Dedupe by message id (and dedupekey) within the dedupe window accepts a repeat once. If the lost attempt
  // did land, the repeat answers `duplicate: true`: the message is queued exactly once either way. (Assumes a
  // dedupe window longer than a few retries: set `retryable.enqueue = false` for a window of 0.)
  enqueue: { guard: "data", retryable: true, inTransaction: { optionsArg: 2, guard: "local" } },
  // All or none, each message deduped: a repeat after a lost attempt that did land answers duplicate, as `enqueue`.
  enqueueMany: { guard: "data", retryable: true },
  // NOT retried: a receive that timed out may have leased messages whose lease ids never reached us. A repeat
  // would lease further messages while the lost ones stay invisible until their leases expire (and count as an
  // attempt). The consumer simply polls again.
  receive: { guard: "data", retryable: false, longPollArg: 1 },
  // NOT retried: if the lost attempt settled the lease, a repeat answers LEASE_NOT_FOUND, turning a success
  // into a client error. The caller sees STORE_UNAVAILABLE and may ack again, reading LEASE_NOT_FOUND as
  // "probably done"; an unsettled lease just expires and the message is redelivered (at-least-once).
  ack: { guard: "data", retryable: false, inTransaction: { optionsArg: 1, guard: "local" } },
  // NOT retried, as `ack`: a lease the lost attempt settled would be reported failed (LEASE_NOT_FOUND).
  ackMany: { guard: "data", retryable: false, inTransaction: { optionsArg: 1, guard: "local" } },
  // NOT retried: a nack counts an attempt and may dead-letter; if it landed, the repeat is LEASE_NOT_FOUND.
  nack: { guard: "data", retryable: false },
  // Sets expiry to now + leaseMs under the same token: repeating it is harmless.
  extendLease: { guard: "data", retryable: true },
  // Deleting what is gone already changes nothing.
  deleteQueue: { guard: "data", retryable: true },
  queueStats: { guard: "admin", retryable: true },
  listQueues: { guard: "admin", retryable: true },
  listQueuePage: { guard: "admin", retryable: true },
  browseQueue: { guard: "admin", retryable: true },

  // ---- topics
  // Each recipient's enqueue is its own deduped step, so a repeat fills in the recipients the lost attempt
  // missed; `recipients` then names only those.
  publish: { guard: "data", retryable: true, inTransaction: { optionsArg: 2, guard: "once" } },
  // Set add/remove: the state converges. A repeated unsubscribe may answer `false` ("was not subscribed")
  // when the lost attempt removed it.
  subscribe: { guard: "data", retryable: true },
  unsubscribe: { guard: "data", retryable: true },
  listSubscriptions: { guard: "admin", retryable: true },

  // ---- transactions: buffered in this process until commit (docs/store-contract.md)
  beginTransaction: { guard: "local", retryable: false },
  savepoint: { guard: "local", retryable: false },
  rollbackToSavepoint: { guard: "local", retryable: false },
  rollback: { guard: "local", retryable: false },
  // NOT retried: commit takes the buffered writes out of the transaction before applying them, so a repeat
  // answers TX_NOT_FOUND; and whether the lost attempt applied is unknown (a cross-slot commit that was logged
  // is finished by the store's own transaction-log replay).
  commit: { guard: "data", retryable: false },

  // ---- dead letters
  listDeadLetters: { guard: "admin", retryable: true },
  listDeadLetterPage: { guard: "admin", retryable: true },
  getDeadLetter: { guard: "admin", retryable: true },
  // NOT retried: replay re-enqueues bypassing dedupe, then removes the dead letter, one letter at a time; a
  // repeat after partial progress could queue a letter twice.
  replayDeadLetters: { guard: "bulk", retryable: false },
  // NOT retried: with a `limit`, a repeat after partial progress would purge a further batch beyond what was
  // asked for.
  purgeDeadLetters: { guard: "bulk", retryable: false },
  // A dry run reads only.
  selectDeadLetters: { guard: "admin", retryable: true },

  // ---- trace
  traceOf: { guard: "admin", retryable: true },
  traceByCorrelation: { guard: "admin", retryable: true },

  // ---- registry
  // Upserts of the agent's record (registeredAt is kept): repeating converges on the same registration.
  registerAgent: { guard: "data", retryable: true },
  // Moves the expiry to now + ttl again: harmless.
  heartbeat: { guard: "data", retryable: true },
  // Hash delete: converges; a repeat may answer `false` when the lost attempt deleted it.
  deregisterAgent: { guard: "data", retryable: true },
  listAgents: { guard: "admin", retryable: true },

  // ---- lifecycle
  memoryStatus: { guard: "admin", retryable: true },
  // Through the breaker but NOT retried: readiness wants the backend's state now, not after backoff, and its
  // outcome feeds the breaker, so readiness probes double as half-open probes.
  ping: { guard: "data", retryable: false },
  // NOT retried: shutdown.
  close: { guard: "shutdown", retryable: false },
};

/** Which store calls may be repeated after a STORE_UNAVAILABLE failure (from STORE_OPERATIONS). */
export const RETRYABLE_OPERATIONS = Object.fromEntries(
  Object.entries(STORE_OPERATIONS).map(([operation, policy]) => [operation, policy.retryable]),
) as Readonly<Record<StoreOperation, boolean>>;
