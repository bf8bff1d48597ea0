import { dedupeKeyOf, messagePriority, timeOf, type Message } from "../core/envelope.js";
import { BmnError, ValidationError } from "../core/errors.js";
import { DEAD_LETTER_REASONS, isDeadLetterReason } from "../core/dead-letter.js";
import type { TransactionId } from "../core/ids.js";
import type { QueueName } from "../core/names.js";
import type {
  EnqueueOp,
  QueueScan,
  LeaseBatch,
  NackOutcome,
  NackRequest,
  QueuedEntry,
  WriteOp,
  WriteOutcome,
} from "./backend-types.js";
import { DeadLetterRole, type DeadLetterPrimitives } from "./base/dead-letter-role.js";
import { RegistryRole, type RegistryBackend } from "./base/registry-role.js";
import { storedMessage } from "./base/stored-message.js";
import { SubscriptionRole, type SubscriptionBackend } from "./base/subscription-role.js";
import { TraceRecorder, type TraceBackend } from "./base/trace-recorder.js";
import { TransactionRole } from "./base/transaction-role.js";
import { formatLeaseId, parseLeaseId, type LeaseRef } from "./lease-id.js";
import {
  decodeOffsetCursor,
  decodeQueueCursor,
  encodeOffsetCursor,
  encodeQueueCursor,
} from "./page-cursor.js";
import {
  QUEUED_MESSAGE_STATES,
  type BrowseOptions,
  type QueuedMessagePage,
  type QueuedMessageState,
  DEFAULT_DELIVERY_POLICY,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type AckFailureCode,
  type AckManyResult,
  type AgentRecord,
  type AgentRegistration,
  type DeadLetter,
  type DeadLetterFilter,
  type DeadLetterPage,
  type DeadLetterSelection,
  type Delivery,
  type DeliveryPolicy,
  type EnqueueItem,
  type MessageStore,
  type NackOptions,
  type NackResult,
  type PublishResult,
  type QueuePage,
  type QueueStats,
  type ReceiveOptions,
  type SavepointId,
  type SendResult,
  type SettleOptions,
  type StoreMemoryStatus,
  type Subscription,
  type TraceEvent,
  type WriteOptions,
} from "./store.js";
import { toCount, toQueueName, toTopic, toTransactionId } from "./validate.js";
import type { Waiter } from "./wakeup-hub.js";

/** How long a closing store waits for trace writes under way. */
const TRACE_FLUSH_MS = 2_000;

export { DEFAULT_AGENT_TTL_MS } from "./base/registry-role.js";
export { isWildcardPattern, type SubscriptionLimits } from "./base/subscription-role.js";

export type PolicyOverrides = { [K in keyof DeliveryPolicy]?: DeliveryPolicy[K] | undefined };

export interface BaseStoreOptions {
  policy?: PolicyOverrides | undefined;
  /** Recorded as the actor of trace events when a call names none. */
  actor?: string | undefined;
}

/**
 * Everything that is the same for every backend, composed from one module per role (`store/base/`): argument
 * validation, transactions (buffered here, applied by the backend in one atomic step), long-poll waiting, fan-out,
 * dead-letter paging and bulk steps, the registry's TTLs, and trace events. Backends implement the protected
 * primitives, each of which is one atomic state change. This class keeps the queue and lease logic and the write
 * path; the other roles are one-line hand-offs to their module.
 */
export abstract class BaseStore implements MessageStore {
  abstract readonly kind: MessageStore["kind"];
  abstract readonly durable: boolean;
  readonly policy: DeliveryPolicy;
  protected readonly actor: string;
  private readonly tracer: TraceRecorder;
  private readonly transactions: TransactionRole;
  private readonly subscriptions: SubscriptionRole;
  private readonly deadLetters: DeadLetterRole;
  private readonly registry: RegistryRole;
  private retentionTimer: ReturnType<typeof setInterval> | undefined;

  constructor(options: BaseStoreOptions = {}) {
    const overrides = Object.entries(options.policy ?? {}).filter(([, value]) => value !== undefined);
    this.policy = {
      ...DEFAULT_DELIVERY_POLICY,
      ...(Object.fromEntries(overrides) as Partial<DeliveryPolicy>),
    };
    this.actor = options.actor ?? "store";
    // The roles reach the backend's primitives through these closures (the primitives are protected).
    this.tracer = new TraceRecorder(
      {
        appendTrace: (events) => this.traceBackend.appendTrace(events),
        readTrace: (id) => this.traceBackend.readTrace(id),
        readCorrelation: (id) => this.traceBackend.readCorrelation(id),
      },
      this.policy.traceRetentionMs,
      this.actor,
    );
    this.transactions = new TransactionRole((ops) => this.applyWrites(ops), this.tracer, this.policy);
    this.subscriptions = new SubscriptionRole(
      {
        addSubscription: (subscription, limits) =>
          this.subscriptionBackend.addSubscription(subscription, limits),
        removeSubscription: (subscription) => this.subscriptionBackend.removeSubscription(subscription),
        readSubscriptions: () => this.subscriptionBackend.readSubscriptions(),
        readSubscribers: (topic) => this.subscriptionBackend.readSubscribers(topic),
      },
      this.policy,
    );
    this.deadLetters = new DeadLetterRole(
      {
        readDeadLetterPage: (query) => this.deadLetterPrimitives.readDeadLetterPage(query),
        readDeadLetter: (queue, id) => this.deadLetterPrimitives.readDeadLetter(queue, id),
        removeDeadLetters: (queue, ids) => this.deadLetterPrimitives.removeDeadLetters(queue, ids),
        requeue: async (queue, message) => {
          await this.applyWrites([this.enqueueOp(queue, message, true)]);
        },
      },
      this.tracer,
    );
    this.registry = new RegistryRole({
      writeAgent: (record) => this.registryBackend.writeAgent(record),
      readAgents: () => this.registryBackend.readAgents(),
      readAgent: (name) => this.registryBackend.readAgent(name),
      deleteAgent: (name) => this.registryBackend.deleteAgent(name),
    });
    this.startDeadLetterRetention();
  }

  // ---- primitives each backend implements ----------------------------------------------------------
  /** Applies every op or none; an ack whose lease is no longer held throws LeaseError and applies nothing. */
  protected abstract applyWrites(ops: WriteOp[]): Promise<WriteOutcome[]>;
  protected abstract leaseMessages(queue: QueueName, max: number, leaseMs: number): Promise<LeaseBatch>;
  /**
   * Acks each lease in list order, as many single acks would (a repeated lease is LEASE_NOT_FOUND the second time);
   * returns per lease undefined (acked) or why it was not. A lease that does not hold changes nothing.
   */
  protected abstract ackLeases(leases: readonly LeaseRef[]): Promise<(AckFailureCode | undefined)[]>;
  protected abstract nackLease(lease: LeaseRef, request: NackRequest): Promise<NackOutcome>;
  protected abstract extendLeaseUntil(lease: LeaseRef, leaseMs: number): Promise<number>;
  /** Registers for wake-ups on `queue`; resolves once a notification cannot be missed. */
  protected abstract watch(queue: QueueName): Promise<Waiter>;
  protected abstract readQueueStats(queue: QueueName): Promise<QueueStats>;
  protected abstract dropQueue(queue: QueueName): Promise<boolean>;
  protected abstract readQueues(): Promise<QueueName[]>;
  /** Up to `limit` queue names after the backend's continuation token `after`. */
  protected abstract readQueuePage(after: string | undefined, limit: number): Promise<QueueScan>;
  /** Up to `limit` entries of `queue` in `state` from position `offset`, in the order browseQueue documents. */
  protected abstract readQueueEntries(
    queue: QueueName,
    state: QueuedMessageState,
    offset: number,
    limit: number,
  ): Promise<QueuedEntry[]>;
  /** The backend's dead-letter primitives (store/base/dead-letter-role.ts), read when first needed. */
  protected abstract readonly deadLetterPrimitives: DeadLetterPrimitives;
  /** The backend's subscription store (store/base/subscription-role.ts), read when first needed. */
  protected abstract readonly subscriptionBackend: SubscriptionBackend;
  /** The backend's registry store (store/base/registry-role.ts), read when first needed. */
  protected abstract readonly registryBackend: RegistryBackend;
  /** The backend's trace store (store/base/trace-recorder.ts), read when first needed. */
  protected abstract readonly traceBackend: TraceBackend;
  abstract ping(): Promise<void>;
  protected abstract closeBackend(): Promise<void>;

  memoryStatus(): Promise<StoreMemoryStatus | undefined> {
    return Promise.resolve(undefined);
  }

  // ---- sending -------------------------------------------------------------------------------------
  async enqueue(queue: string, message: Message, options: WriteOptions = {}): Promise<SendResult> {
    const op = this.enqueueOp(toQueueName(queue), message, false);
    if (options.tx !== undefined) {
      this.transactions.buffer.add(toTransactionId(options.tx), op);
      return { id: message.id, duplicate: false };
    }
    const [outcome] = await this.applyWrites([op]);
    const result: SendResult = { id: message.id, duplicate: outcome?.duplicate ?? false };
    if (outcome?.deadLettered !== undefined) result.deadLettered = outcome.deadLettered;
    this.tracer.writes([op], outcome === undefined ? [] : [outcome], options.actor);
    return result;
  }

  async enqueueMany(
    items: readonly EnqueueItem[],
    options: { actor?: string | undefined } = {},
  ): Promise<SendResult[]> {
    const given: unknown = items;
    if (!Array.isArray(given))
      throw new ValidationError("items must be an array of { queue, message }", {
        code: "INVALID_ARGUMENT",
        field: "items",
      });
    const ops = items.map((item, index) =>
      this.enqueueOp(toQueueName(item.queue, `items.${index}.queue`), item.message, false),
    );
    if (ops.length === 0) return [];
    const outcomes = await this.applyWrites(ops);
    this.tracer.writes(ops, outcomes, options.actor);
    return items.map((item, index) => {
      const outcome = outcomes[index];
      const result: SendResult = { id: item.message.id, duplicate: outcome?.duplicate ?? false };
      if (outcome?.deadLettered !== undefined) result.deadLettered = outcome.deadLettered;
      return result;
    });
  }

  async publish(topic: string, message: Message, options: WriteOptions = {}): Promise<PublishResult> {
    const validTopic = toTopic(topic);
    const tx =
      options.tx === undefined ? undefined : this.transactions.buffer.check(toTransactionId(options.tx));
    const recipients = await this.subscriptions.subscribersOf(validTopic);
    const ops = recipients.map((agent) => this.enqueueOp(agent, message, false));
    if (tx !== undefined) {
      this.transactions.buffer.addAll(tx, ops);
      return { id: message.id, recipients, duplicate: false };
    }
    // Each recipient is its own atomic step: dedupe per queue makes a retried publish fill in what it missed.
    const outcomes = await Promise.all(ops.map(async (op) => (await this.applyWrites([op]))[0]));
    const delivered = recipients.filter((_, index) => outcomes[index]?.duplicate !== true);
    this.tracer.writes(
      ops,
      outcomes.filter((outcome) => outcome !== undefined),
      options.actor,
      validTopic,
    );
    return {
      id: message.id,
      recipients: delivered,
      duplicate: recipients.length > 0 && delivered.length === 0,
    };
  }

  /** When a message sent without `expiresat` expires: after the domain's default TTL, if it has one. */
  private defaultExpiry(): number | undefined {
    return this.policy.defaultTtlMs > 0 ? Date.now() + this.policy.defaultTtlMs : undefined;
  }

  private enqueueOp(queue: QueueName, message: Message, replay: boolean): EnqueueOp {
    return {
      kind: "enqueue",
      agent: queue,
      message,
      json: JSON.stringify(message),
      priority: messagePriority(message),
      dedupeKey: dedupeKeyOf(message),
      notBefore: timeOf(message.notbefore),
      expiresAt: timeOf(message.expiresat) ?? this.defaultExpiry(),
      replay,
    };
  }

  // ---- receiving -----------------------------------------------------------------------------------
  async receive(queueName: string, options: ReceiveOptions = {}): Promise<Delivery[]> {
    const queue = toQueueName(queueName);
    const max = Math.min(toCount(options.max, "max", 1) ?? 1, this.policy.maxBatch);
    const leaseMs = Math.min(
      toCount(options.leaseMs, "leaseMs", 1) ?? this.policy.leaseMs,
      this.policy.maxLeaseMs,
    );
    const waitMs = toCount(options.waitMs, "waitMs") ?? 0;
    const deadline = Date.now() + waitMs;
    const signal = options.signal;
    // A function, so each check re-reads the signal after the awaits in between.
    const aborted = (): boolean => signal?.aborted === true;
    const waiter = waitMs > 0 ? await this.watch(queue) : undefined;
    try {
      for (;;) {
        // An aborted receive takes no lease: its caller is gone and would never settle it.
        if (aborted()) return [];
        const leasedFrom = Date.now();
        const batch = await this.leaseMessages(queue, max, leaseMs);
        this.tracer.lease(queue, batch, options.actor);
        const localNow = Date.now();
        if (batch.deliveries.length > 0 || waiter === undefined || localNow >= deadline || aborted()) {
          return batch.deliveries.map((leased) => ({
            leaseId: formatLeaseId({ agent: queue, id: leased.id, token: leased.token }),
            attempt: leased.attempt,
            // On this process's clock from before the call, so the reported end errs early, never late.
            leaseExpiresAt: leasedFrom + (leased.leaseExpiresAt - batch.now),
            agent: queue,
            message: storedMessage(leased.json),
          }));
        }
        const nextDue =
          batch.nextDueAt === undefined ? Infinity : localNow + (batch.nextDueAt - batch.now) + 1;
        await waiter.wait(Math.min(deadline, nextDue), signal);
      }
    } finally {
      waiter?.close();
    }
  }

  async ack(leaseId: string, options: SettleOptions = {}): Promise<void> {
    const lease = parseLeaseId(leaseId);
    if (options.tx !== undefined) {
      this.transactions.buffer.add(toTransactionId(options.tx), { kind: "ack", lease });
      return;
    }
    await this.applyWrites([{ kind: "ack", lease }]);
    this.tracer.acked([lease], options.actor);
  }

  async ackMany(leaseIds: readonly string[], options: SettleOptions = {}): Promise<AckManyResult> {
    if (!Array.isArray(leaseIds)) {
      throw new ValidationError("leaseIds must be an array of lease ids", {
        code: "INVALID_ARGUMENT",
        field: "leaseIds",
      });
    }
    const leases = leaseIds.map((leaseId: unknown, index) => toLeaseRef(leaseId, `leaseIds.${index}`));
    if (options.tx !== undefined) {
      const tx = this.transactions.buffer.check(toTransactionId(options.tx));
      // Checked at commit, like `ack` with `tx`: a lease that no longer holds then fails the whole commit.
      this.transactions.buffer.addAll(
        tx,
        leases.map((lease) => ({ kind: "ack", lease })),
      );
      return { acked: leases.map(formatLeaseId), failed: [] };
    }
    const result: AckManyResult = { acked: [], failed: [] };
    if (leases.length === 0) return result;
    const problems = await this.ackLeases(leases);
    const acked: LeaseRef[] = [];
    leases.forEach((lease, index) => {
      const leaseId = formatLeaseId(lease);
      const code = problems[index];
      if (code !== undefined) {
        result.failed.push({ leaseId, code });
        return;
      }
      result.acked.push(leaseId);
      acked.push(lease);
    });
    this.tracer.acked(acked, options.actor);
    return result;
  }

  async nack(leaseId: string, options: NackOptions = {}): Promise<NackResult> {
    const lease = parseLeaseId(leaseId);
    const delayMs = toCount(options.delayMs, "delayMs");
    if (options.reason !== undefined && typeof options.reason !== "string") {
      throw new ValidationError("reason must be a string", { code: "INVALID_ARGUMENT", field: "reason" });
    }
    if (options.deadLetterReason !== undefined && !isDeadLetterReason(options.deadLetterReason)) {
      throw new ValidationError(`deadLetterReason must be one of ${DEAD_LETTER_REASONS.join(", ")}`, {
        code: "INVALID_ARGUMENT",
        field: "deadLetterReason",
      });
    }
    const outcome = await this.nackLease(lease, {
      delayMs,
      reason: options.reason?.slice(0, 1024),
      deadLetter: options.deadLetterReason ?? (options.deadLetter === true ? "rejected" : undefined),
    });
    const actor = this.tracer.actor(options.actor);
    const at = Date.now();
    const base = { messageId: lease.id, actor, agent: lease.agent, attempt: outcome.attempt };
    const events: TraceEvent[] = [
      { ...base, kind: "nacked", at, ...(options.reason === undefined ? {} : { reason: options.reason }) },
    ];
    if (outcome.outcome === "dead-lettered")
      events.push({ ...base, kind: "dead-lettered", at, reason: outcome.reason ?? "rejected" });
    this.tracer.record(events);
    const result: NackResult = { outcome: outcome.outcome };
    if (outcome.redeliverAt !== undefined) result.redeliverAt = outcome.redeliverAt;
    if (outcome.reason !== undefined) result.reason = outcome.reason;
    return result;
  }

  async extendLease(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }> {
    const lease = parseLeaseId(leaseId);
    const ms = Math.min(toCount(leaseMs, "leaseMs", 1) ?? this.policy.leaseMs, this.policy.maxLeaseMs);
    return { leaseExpiresAt: await this.extendLeaseUntil(lease, ms) };
  }

  // ---- queue stats and listing --------------------------------------------------------------------------
  async queueStats(queue: string): Promise<QueueStats> {
    return this.readQueueStats(toQueueName(queue));
  }

  async listQueues(): Promise<QueueName[]> {
    return (await this.readQueues()).sort();
  }

  async deleteQueue(queue: string): Promise<boolean> {
    return this.dropQueue(toQueueName(queue));
  }

  async listQueuePage(
    options: { limit?: number | undefined; cursor?: string | undefined } = {},
  ): Promise<QueuePage> {
    const limit = Math.min(toCount(options.limit, "limit", 1) ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const after = options.cursor === undefined ? undefined : decodeQueueCursor(options.cursor);
    const scan = await this.readQueuePage(after, limit);
    const page: QueuePage = { queues: scan.queues };
    if (scan.next !== undefined) page.nextCursor = encodeQueueCursor(scan.next);
    return page;
  }

  async browseQueue(queue: string, options: BrowseOptions): Promise<QueuedMessagePage> {
    const name = toQueueName(queue);
    if (!(QUEUED_MESSAGE_STATES as readonly string[]).includes(options.state))
      throw new ValidationError(`state must be one of ${QUEUED_MESSAGE_STATES.join(", ")}`, {
        code: "INVALID_ARGUMENT",
        field: "state",
      });
    const limit = Math.min(toCount(options.limit, "limit", 1) ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE);
    const offset = options.cursor === undefined ? 0 : decodeOffsetCursor(options.cursor);
    // One more than the page tells whether another page follows.
    const entries = await this.readQueueEntries(name, options.state, offset, limit + 1);
    const page: QueuedMessagePage = {
      messages: entries.slice(0, limit).map((entry) => ({
        message: storedMessage(entry.json),
        state: options.state,
        attempts: entry.attempts,
        ...(entry.dueAt === undefined ? {} : { dueAt: entry.dueAt }),
      })),
    };
    if (entries.length > limit) page.nextCursor = encodeOffsetCursor(offset + limit);
    return page;
  }

  // ---- the other roles, each composed from its module ----------------------------------------------
  subscribe(agent: string, pattern: string): Promise<void> {
    return this.subscriptions.subscribe(agent, pattern);
  }
  unsubscribe(agent: string, pattern: string): Promise<boolean> {
    return this.subscriptions.unsubscribe(agent, pattern);
  }
  listSubscriptions(agent?: string): Promise<Subscription[]> {
    return this.subscriptions.listSubscriptions(agent);
  }

  beginTransaction(options?: { timeoutMs?: number }): Promise<TransactionId> {
    return this.transactions.beginTransaction(options);
  }
  savepoint(tx: string): Promise<SavepointId> {
    return this.transactions.savepoint(tx);
  }
  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void> {
    return this.transactions.rollbackToSavepoint(tx, savepoint);
  }
  commit(tx: string): Promise<void> {
    return this.transactions.commit(tx);
  }
  rollback(tx: string): Promise<void> {
    return this.transactions.rollback(tx);
  }

  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]> {
    return this.deadLetters.listDeadLetters(filter);
  }
  listDeadLetterPage(filter?: DeadLetterFilter & { cursor?: string | undefined }): Promise<DeadLetterPage> {
    return this.deadLetters.listDeadLetterPage(filter);
  }
  getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    return this.deadLetters.getDeadLetter(queue, id);
  }
  replayDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options?: { to?: string },
  ): Promise<number> {
    return this.deadLetters.replayDeadLetters(filter, options);
  }
  purgeDeadLetters(filter: DeadLetterFilter & { ids?: string[] | undefined }): Promise<number> {
    return this.deadLetters.purgeDeadLetters(filter);
  }
  selectDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options?: { to?: string },
  ): Promise<DeadLetterSelection> {
    return this.deadLetters.selectDeadLetters(filter, options);
  }

  traceOf(messageId: string): Promise<TraceEvent[]> {
    return this.tracer.traceOf(messageId);
  }
  traceByCorrelation(correlationId: string): Promise<TraceEvent[]> {
    return this.tracer.traceByCorrelation(correlationId);
  }

  registerAgent(registration: AgentRegistration): Promise<AgentRecord> {
    return this.registry.registerAgent(registration);
  }
  heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord> {
    return this.registry.heartbeat(agent, ttlMs);
  }
  deregisterAgent(agent: string): Promise<boolean> {
    return this.registry.deregisterAgent(agent);
  }
  listAgents(filter?: { capability?: string }): Promise<AgentRecord[]> {
    return this.registry.listAgents(filter);
  }

  /**
   * While `policy.dlqRetentionMs` is set, purges dead letters older than it about every tenth of it (between 10 ms
   * and a minute). One purge at a time; a failed one is tried again at the next tick (the store may be down).
   */
  private startDeadLetterRetention(): void {
    const retentionMs = this.policy.dlqRetentionMs;
    if (retentionMs <= 0) return;
    let running = false;
    this.retentionTimer = setInterval(
      () => {
        if (running) return;
        running = true;
        this.deadLetters
          .purgeDeadLetters({ deadLetteredBefore: Date.now() - retentionMs })
          .catch(() => undefined)
          .finally(() => (running = false));
      },
      Math.min(Math.max(Math.floor(retentionMs / 10), 10), 60_000),
    );
    // Housekeeping never keeps a process alive.
    this.retentionTimer.unref();
  }

  async close(): Promise<void> {
    clearInterval(this.retentionTimer);
    this.transactions.close();
    // The trace of the last state changes (e.g. the nacks of a sidecar giving its leases back) lands first.
    await this.tracer.flush(TRACE_FLUSH_MS);
    await this.closeBackend();
  }
}

/** A lease id of a batch call: a malformed one is a ValidationError naming its place in the list. */
function toLeaseRef(leaseId: unknown, field: string): LeaseRef {
  try {
    return parseLeaseId(leaseId);
  } catch {
    const shown = typeof leaseId === "string" ? JSON.stringify(leaseId.slice(0, 200)) : typeof leaseId;
    throw new ValidationError(`${field} ${shown} is not a lease id`, { code: "INVALID_ARGUMENT", field });
  }
}

export function isBmnErrorCode(error: unknown, code: string): boolean {
  return error instanceof BmnError && error.code === code;
}
