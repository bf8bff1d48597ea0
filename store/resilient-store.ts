import type { Message } from "../core/envelope.js";
import type { TransactionId } from "../core/ids.js";
import type { QueueName } from "../core/names.js";
import type {
  AckManyResult,
  AgentRecord,
  AgentRegistration,
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  Delivery,
  MessageStore,
  NackOptions,
  NackResult,
  PublishResult,
  QueuePage,
  QueueStats,
  ReceiveOptions,
  SavepointId,
  SendResult,
  SettleOptions,
  StoreMemoryStatus,
  Subscription,
  TraceEvent,
  WriteOptions,
} from "./store.js";
import {
  CircuitBreaker,
  retryAfterMsOf,
  type CircuitBreakerOptions,
  type CircuitState,
  type StateChangeListener,
} from "../runtime/resilience/circuit-breaker.js";
import { RETRYABLE_OPERATIONS, withRetry, type StoreOperation } from "../runtime/resilience/retry.js";
import { withTimeout } from "../runtime/resilience/timeout.js";

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
  onRetry?: ((operation: StoreOperation, error: unknown, retry: number, delayMs: number) => void) | undefined;
  /** Called after each guarded call with its outcome and duration in ms (the store latency histogram). */
  onCall?: ((operation: StoreOperation, outcome: "ok" | "error", durationMs: number) => void) | undefined;
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
 * A MessageStore that guards every backend call the way Dapr's resiliency policies do: each attempt runs under
 * a timeout inside a circuit breaker, and retryable operations (RETRYABLE_OPERATIONS) repeat the whole attempt
 * with backoff. So a retry goes through the breaker again, and an open circuit stops the retrying at once.
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
 */
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

  /** One attempt is timeout inside breaker; retryable operations repeat whole attempts. */
  private guard<T>(
    operation: StoreOperation,
    run: () => Promise<T>,
    timeoutMs = this.timeoutMs,
    throughBreaker = true,
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
    if (!this.retryable[operation] || this.retries === 0) return attempt();
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

  // ---- sending -------------------------------------------------------------------------------------
  /**
   * Administrative and observability calls (reads, DLQ purge and replay): timeout and retry where the operation
   * allows it, but outside the breaker, both ways. A slow list over many queues must not open the circuit that
   * sends and receives depend on, and is not refused by it either (its own timeout bounds it).
   */
  private guardRead<T>(
    operation: StoreOperation,
    run: () => Promise<T>,
    timeoutMs = this.timeoutMs,
  ): Promise<T> {
    return this.guard(operation, run, timeoutMs, false);
  }

  enqueue(agent: string, message: Message, options?: WriteOptions): Promise<SendResult> {
    if (options?.tx !== undefined) return this.inner.enqueue(agent, message, options);
    return this.guard("enqueue", () => this.inner.enqueue(agent, message, options));
  }

  publish(topic: string, message: Message, options?: WriteOptions): Promise<PublishResult> {
    // With `tx` the subscriptions are read now and the writes buffered: a repeat could buffer them twice.
    if (options?.tx !== undefined)
      return this.breaker.execute(() =>
        withTimeout(() => this.inner.publish(topic, message, options), this.timeoutMs),
      );
    return this.guard("publish", () => this.inner.publish(topic, message, options));
  }

  // ---- receiving -----------------------------------------------------------------------------------
  async receive(agent: string, options?: ReceiveOptions): Promise<Delivery[]> {
    const waitMs = options?.waitMs;
    const wait = typeof waitMs === "number" && Number.isFinite(waitMs) && waitMs > 0 ? waitMs : 0;
    if (wait > 0 && this.breaker.state === "half-open") await this.ping();
    return this.guard("receive", () => this.inner.receive(agent, options), this.timeoutMs + wait);
  }

  ack(leaseId: string, options?: SettleOptions): Promise<void> {
    if (options?.tx !== undefined) return this.inner.ack(leaseId, options);
    return this.guard("ack", () => this.inner.ack(leaseId, options));
  }

  ackMany(leaseIds: readonly string[], options?: SettleOptions): Promise<AckManyResult> {
    if (options?.tx !== undefined) return this.inner.ackMany(leaseIds, options);
    return this.guard("ackMany", () => this.inner.ackMany(leaseIds, options));
  }

  nack(leaseId: string, options?: NackOptions): Promise<NackResult> {
    return this.guard("nack", () => this.inner.nack(leaseId, options));
  }

  extendLease(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }> {
    return this.guard("extendLease", () => this.inner.extendLease(leaseId, leaseMs));
  }

  // ---- subscriptions -------------------------------------------------------------------------------
  subscribe(agent: string, pattern: string): Promise<void> {
    return this.guard("subscribe", () => this.inner.subscribe(agent, pattern));
  }

  unsubscribe(agent: string, pattern: string): Promise<boolean> {
    return this.guard("unsubscribe", () => this.inner.unsubscribe(agent, pattern));
  }

  listSubscriptions(agent?: string): Promise<Subscription[]> {
    return this.guardRead("listSubscriptions", () => this.inner.listSubscriptions(agent));
  }

  // ---- transactions (buffered in this process until commit) -----------------------------------------
  beginTransaction(options?: { timeoutMs?: number }): Promise<TransactionId> {
    return this.inner.beginTransaction(options);
  }

  savepoint(tx: string): Promise<SavepointId> {
    return this.inner.savepoint(tx);
  }

  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void> {
    return this.inner.rollbackToSavepoint(tx, savepoint);
  }

  commit(tx: string): Promise<void> {
    return this.guard("commit", () => this.inner.commit(tx));
  }

  rollback(tx: string): Promise<void> {
    return this.inner.rollback(tx);
  }

  // ---- dead letters --------------------------------------------------------------------------------
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.guardRead("listDeadLetters", () => this.inner.listDeadLetters(filter));
  }

  listDeadLetterPage(filter?: DeadLetterFilter & { cursor?: string | undefined }): Promise<DeadLetterPage> {
    return this.guardRead("listDeadLetterPage", () => this.inner.listDeadLetterPage(filter));
  }

  getDeadLetter(agent: string, id: string): Promise<DeadLetter | undefined> {
    return this.guardRead("getDeadLetter", () => this.inner.getDeadLetter(agent, id));
  }

  replayDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] },
    options?: { to?: string },
  ): Promise<number> {
    return this.guardRead(
      "replayDeadLetters",
      () => this.inner.replayDeadLetters(filter, options),
      this.bulkTimeoutMs,
    );
  }

  purgeDeadLetters(filter: DeadLetterFilter & { ids?: string[] }): Promise<number> {
    return this.guardRead("purgeDeadLetters", () => this.inner.purgeDeadLetters(filter), this.bulkTimeoutMs);
  }

  // ---- trace, stats, registry ----------------------------------------------------------------------
  traceOf(messageId: string): Promise<TraceEvent[]> {
    return this.guardRead("traceOf", () => this.inner.traceOf(messageId));
  }

  traceByCorrelation(correlationId: string): Promise<TraceEvent[]> {
    return this.guardRead("traceByCorrelation", () => this.inner.traceByCorrelation(correlationId));
  }

  queueStats(agent: string): Promise<QueueStats> {
    return this.guardRead("queueStats", () => this.inner.queueStats(agent));
  }

  listQueues(): Promise<QueueName[]> {
    return this.guardRead("listQueues", () => this.inner.listQueues());
  }

  deleteQueue(agent: string): Promise<boolean> {
    return this.guard("deleteQueue", () => this.inner.deleteQueue(agent));
  }

  listQueuePage(options?: { limit?: number | undefined; cursor?: string | undefined }): Promise<QueuePage> {
    return this.guardRead("listQueuePage", () => this.inner.listQueuePage(options));
  }

  memoryStatus(): Promise<StoreMemoryStatus | undefined> {
    return this.guardRead("memoryStatus", () => this.inner.memoryStatus());
  }

  registerAgent(registration: AgentRegistration): Promise<AgentRecord> {
    return this.guard("registerAgent", () => this.inner.registerAgent(registration));
  }

  heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord> {
    return this.guard("heartbeat", () => this.inner.heartbeat(agent, ttlMs));
  }

  deregisterAgent(agent: string): Promise<boolean> {
    return this.guard("deregisterAgent", () => this.inner.deregisterAgent(agent));
  }

  listAgents(filter?: { capability?: string }): Promise<AgentRecord[]> {
    return this.guardRead("listAgents", () => this.inner.listAgents(filter));
  }

  // ---- lifecycle -----------------------------------------------------------------------------------
  /** Timeout and breaker, no retry: readiness wants the answer now, and it doubles as a half-open probe. */
  ping(): Promise<void> {
    return this.guard("ping", () => this.inner.ping());
  }

  /** Timeout only: shutdown must reach the backend even while the circuit is open. */
  close(): Promise<void> {
    return withTimeout(() => this.inner.close(), this.timeoutMs);
  }
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
