import type { MessageStore } from "./store.js";
import {
  CircuitBreaker,
  retryAfterMsOf,
  type CircuitBreakerOptions,
  type CircuitState,
  type StateChangeListener,
} from "../runtime/resilience/circuit-breaker.js";
import { withRetry } from "../runtime/resilience/retry.js";
import { withTimeout } from "../runtime/resilience/timeout.js";
import { ResilientA2aTasks, type A2aTaskOperation } from "./resilient-a2a-tasks.js";
import { a2aTasksOf, type A2aTaskStore } from "./roles/a2a-tasks.js";
import {
  RETRYABLE_OPERATIONS,
  STORE_OPERATIONS,
  type OperationPolicy,
  type StoreOperation,
} from "./store-operations.js";

/** A guarded call: of the store contract, or of the A2A task role. */
export type GuardedOperation = StoreOperation | A2aTaskOperation;

export interface ResilientStoreOptions {
  /** Per attempt; receive adds its own `waitMs`. Default 2000. */
  timeoutMs?: number | undefined;
  /** Retries after the first attempt, for retryable operations only. Default 2. */
  retries?: number | undefined;
  /** Full-jitter exponential backoff between retries. Defaults 50 and 1000. */
  backoffBaseMs?: number | undefined;
  backoffMaxMs?: number | undefined;
  /**
   * For DLQ purge and replay, which work through any number of letters in bounded chunks. Default 60000. A
   * timeout leaves a consistent, partly done purge or replay that the next call continues.
   */
  bulkTimeoutMs?: number | undefined;
  /** Defaults: failureThreshold 5, openMs 5000, halfOpenProbes 1. */
  breaker?: Pick<CircuitBreakerOptions, "failureThreshold" | "openMs" | "halfOpenProbes"> | undefined;
  /** Overrides of RETRYABLE_OPERATIONS (e.g. `{ enqueue: false }` for a store without a dedupe window). */
  retryable?: Partial<Record<StoreOperation, boolean>> | undefined;
  /** Called before each retry's pause (metrics, logs). */
  onRetry?:
    ((operation: GuardedOperation, error: unknown, retry: number, delayMs: number) => void) | undefined;
  /** Called after each guarded call with its outcome and duration in ms (the store latency histogram). */
  onCall?: ((operation: GuardedOperation, outcome: "ok" | "error", durationMs: number) => void) | undefined;
  /** Injectable for tests: the breaker's clock, the pause between retries, the jitter source. */
  now?: (() => number) | undefined;
  sleep?: ((ms: number) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
}

export const DEFAULT_STORE_TIMEOUT_MS = 2_000;
export const DEFAULT_STORE_RETRIES = 2;
export const DEFAULT_BULK_TIMEOUT_MS = 60_000;
export const DEFAULT_RETRY_BACKOFF_BASE_MS = 50;
export const DEFAULT_RETRY_BACKOFF_MAX_MS = 1_000;

/**
 * A MessageStore that guards every backend call the way Dapr's resiliency policies do, each call as the one table
 * STORE_OPERATIONS says: data-path attempts run under a timeout inside a circuit breaker, administrative reads
 * under a timeout outside it, and retryable operations repeat the whole attempt with backoff. So a retry goes
 * through the breaker again, and an open circuit stops the retrying at once.
 *
 * - Only STORE_UNAVAILABLE counts against the breaker and is retried; client errors pass straight through.
 * - Transaction bookkeeping (begin, savepoint, rollback, and `enqueue`/`ack`/`ackMany` with `tx`) is buffered in this
 *   process until `commit` (docs/store-contract.md), so it bypasses timeout and breaker: a local success must
 *   not count as the backend being healthy. `commit` and `publish` with `tx` (which reads subscriptions) are
 *   guarded.
 * - `ping` is guarded but never retried, and its outcome feeds the breaker, so readiness probes double as
 *   half-open probes. `close` gets the timeout only.
 * - A long-poll `receive` never serves as a half-open probe (it could hold the only probe slot for its whole
 *   `waitMs`): while half-open, a `ping` probes first.
 *
 * The calls are made from the table in the constructor, so a new store operation is one table row. The A2A task
 * role of the inner store (if it has one) is guarded the same way, through the same breaker (its own retry table:
 * store/resilient-a2a-tasks.ts), so a hung store fails an A2A request within the timeout instead of holding it.
 */
// The interface declares the MessageStore calls the constructor installs from STORE_OPERATIONS.
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging, @typescript-eslint/no-empty-object-type
export interface ResilientStore extends Omit<MessageStore, "kind" | "durable"> {}

// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class ResilientStore implements MessageStore {
  readonly breaker: CircuitBreaker;
  private readonly timeoutMs: number;
  private readonly bulkTimeoutMs: number;
  private readonly retries: number;
  private readonly backoffBaseMs: number;
  private readonly backoffMaxMs: number;
  private readonly retryable: Readonly<Record<StoreOperation, boolean>>;
  private readonly options: ResilientStoreOptions;

  constructor(
    readonly inner: MessageStore,
    options: ResilientStoreOptions = {},
  ) {
    this.options = options;
    this.timeoutMs = positive(options.timeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, "timeoutMs");
    this.bulkTimeoutMs = positive(options.bulkTimeoutMs ?? DEFAULT_BULK_TIMEOUT_MS, "bulkTimeoutMs");
    this.retries = count(options.retries ?? DEFAULT_STORE_RETRIES, "retries");
    this.backoffBaseMs = nonNegative(options.backoffBaseMs ?? DEFAULT_RETRY_BACKOFF_BASE_MS, "backoffBaseMs");
    this.backoffMaxMs = nonNegative(options.backoffMaxMs ?? DEFAULT_RETRY_BACKOFF_MAX_MS, "backoffMaxMs");
    this.retryable = { ...RETRYABLE_OPERATIONS, ...options.retryable };
    this.breaker = new CircuitBreaker({ ...options.breaker, now: options.now });
    for (const [operation, policy] of Object.entries(STORE_OPERATIONS) as [
      StoreOperation,
      OperationPolicy,
    ][]) {
      Object.defineProperty(this, operation, {
        value: (...args: unknown[]): Promise<unknown> => this.call(operation, policy, args),
        enumerable: false,
      });
    }
    const tasks = a2aTasksOf(inner);
    if (tasks !== undefined) {
      const role = new ResilientA2aTasks(tasks, (operation, run, retry) =>
        this.guard(operation, run, { retry }),
      );
      Object.defineProperty(this, "a2aTasks", { value: (): A2aTaskStore => role, enumerable: false });
    }
  }

  get kind(): MessageStore["kind"] {
    return this.inner.kind;
  }

  get durable(): boolean {
    return this.inner.durable;
  }

  /** The breaker's state, for metrics and readiness. */
  breakerState(): CircuitState {
    return this.breaker.state;
  }

  /** Calls `listener(to, from)` on every breaker transition; returns a function that removes it. */
  onBreakerStateChange(listener: StateChangeListener): () => void {
    return this.breaker.onStateChange(listener);
  }

  /**
   * What to send as `Retry-After` (in ms): the value a fail-fast `error` carries, else how long the breaker
   * will still refuse calls; undefined when calls are admitted now.
   */
  retryAfterMs(error?: unknown): number | undefined {
    const fromError = retryAfterMsOf(error);
    if (fromError !== undefined) return fromError;
    const fromBreaker = this.breaker.retryAfterMs;
    return fromBreaker > 0 ? fromBreaker : undefined;
  }

  /** One call of the inner store, guarded as its row of STORE_OPERATIONS says. */
  private async call(operation: StoreOperation, policy: OperationPolicy, args: unknown[]): Promise<unknown> {
    // Every operation of the table is a method of the inner store taking `args`.
    const run = (): Promise<unknown> =>
      (this.inner[operation] as (...values: unknown[]) => Promise<unknown>).apply(this.inner, args);
    const inTransaction = policy.inTransaction;
    if (inTransaction !== undefined && optionsAt(args, inTransaction.optionsArg)?.tx !== undefined) {
      return inTransaction.guard === "local" ? run() : this.guard(operation, run, { retry: false });
    }
    const retry = this.retryable[operation];
    switch (policy.guard) {
      case "local":
        return run();
      case "shutdown":
        return withTimeout(run, this.timeoutMs);
      case "admin":
        return this.guard(operation, run, { throughBreaker: false, retry });
      case "bulk":
        return this.guard(operation, run, { throughBreaker: false, timeoutMs: this.bulkTimeoutMs, retry });
      case "data": {
        if (policy.longPollArg === undefined) return this.guard(operation, run, { retry });
        const waitMs = optionsAt(args, policy.longPollArg)?.waitMs;
        const wait = typeof waitMs === "number" && Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0;
        // A long poll must not hold the only half-open probe slot for its whole wait: a ping probes first.
        if (wait > 0 && this.breaker.state === "half-open")
          await this.call("ping", STORE_OPERATIONS.ping, []);
        return this.guard(operation, run, { timeoutMs: this.timeoutMs + wait, retry });
      }
    }
  }

  /** One attempt is timeout inside breaker (or timeout alone outside it); `retry` repeats attempts. */
  private guard<T>(
    operation: GuardedOperation,
    run: () => Promise<T>,
    {
      timeoutMs = this.timeoutMs,
      throughBreaker = true,
      retry,
    }: { timeoutMs?: number; throughBreaker?: boolean; retry: boolean },
  ): Promise<T> {
    const onCall = this.options.onCall;
    const timed =
      onCall === undefined
        ? run
        : async (): Promise<T> => {
            const started = performance.now();
            try {
              const result = await run();
              onCall(operation, "ok", performance.now() - started);
              return result;
            } catch (error) {
              onCall(operation, "error", performance.now() - started);
              throw error;
            }
          };
    const attempt = (): Promise<T> =>
      throughBreaker
        ? this.breaker.execute(() => withTimeout(timed, timeoutMs))
        : withTimeout(timed, timeoutMs);
    if (!retry || this.retries === 0) return attempt();
    const onRetry = this.options.onRetry;
    return withRetry(attempt, {
      retries: this.retries,
      backoffBaseMs: this.backoffBaseMs,
      backoffMaxMs: this.backoffMaxMs,
      sleep: this.options.sleep,
      random: this.options.random,
      onRetry:
        onRetry === undefined
          ? undefined
          : (error, retry, delayMs) => {
              onRetry(operation, error, retry, delayMs);
            },
    });
  }
}

/** The options object at `index` of a call's arguments, if there is one. */
function optionsAt(args: unknown[], index: number): { tx?: unknown; waitMs?: unknown } | undefined {
  const value = args[index];
  return typeof value === "object" && value !== null ? value : undefined;
}

function positive(value: number, name: string): number {
  if (!(value > 0)) throw new RangeError(`${name} must be a positive number`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}

function count(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 0) throw new RangeError(`${name} must be a non-negative integer`);
  return value;
}
