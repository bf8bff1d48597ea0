import { dedupeKeyOf, messagePriority, timeOf, type Message } from "../core/envelope.js";
import { BmnError, LeaseError, NotFoundError, TransactionError } from "../core/errors.js";
import { DEAD_LETTER_REASONS, isDeadLetterReason } from "../core/dead-letter.js";
import type { MessageId, TransactionId } from "../core/ids.js";
import type { AgentName, QueueName, Topic } from "../core/names.js";
import { topicMatches } from "../core/topic-match.js";
import type {
  DeadLetterPosition,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterScan,
  EnqueueOp,
  QueueScan,
  LeaseBatch,
  NackOutcome,
  NackRequest,
  WriteOp,
  WriteOutcome,
} from "./backend-types.js";
import { formatLeaseId, parseLeaseId, type LeaseRef } from "./lease-id.js";
import {
  DEFAULT_DELIVERY_POLICY,
  DEFAULT_PAGE_SIZE,
  MAX_PAGE_SIZE,
  type DeadLetterPage,
  type QueuePage,
  type StoreMemoryStatus,
  type AckFailureCode,
  type AckManyResult,
  type AgentRecord,
  type AgentRegistration,
  type DeadLetter,
  type DeadLetterFilter,
  type Delivery,
  type DeliveryPolicy,
  type MessageStore,
  type NackOptions,
  type NackResult,
  type PublishResult,
  type QueueStats,
  type ReceiveOptions,
  type SavepointId,
  type SendResult,
  type SettleOptions,
  type Subscription,
  type TraceEvent,
  type WriteOptions,
} from "./store.js";
import { TransactionBuffer } from "./transaction-buffer.js";
import { toAgentName, toCount, toQueueName, toTopic, toTopicPattern, toTransactionId } from "./validate.js";
import { capabilitySchema } from "../core/names.js";
import { ValidationError } from "../core/errors.js";
import type { Waiter } from "./wakeup-hub.js";
import { decodeCursor, decodeQueueCursor, encodeCursor, encodeQueueCursor } from "./page-cursor.js";

/** Dead letters one purge or replay step handles at most. */
const DLQ_CHUNK = 500;

export const DEFAULT_AGENT_TTL_MS = 5 * 60_000;

export interface SubscriptionLimits {
  max: number;
  maxWildcard: number;
}

/** A pattern with `*` or `#` segments: it cannot be looked up by topic, so publish matches it one by one. */
export function isWildcardPattern(pattern: string): boolean {
  return pattern.split(".").some((segment) => segment === "*" || segment === "#");
}

export type PolicyOverrides = { [K in keyof DeliveryPolicy]?: DeliveryPolicy[K] | undefined };

export interface BaseStoreOptions {
  policy?: PolicyOverrides | undefined;
  /** Recorded as the actor of trace events when a call names none. */
  actor?: string | undefined;
}

/**
 * Everything that is the same for every backend: argument validation, transactions (buffered here, applied by
 * the backend in one atomic step), long-poll waiting, fan-out and trace events. Backends implement the
 * protected primitives, each of which is one atomic state change.
 */
export abstract class BaseStore implements MessageStore {
  abstract readonly kind: MessageStore["kind"];
  abstract readonly durable: boolean;
  readonly policy: DeliveryPolicy;
  protected readonly actor: string;
  private readonly transactions: TransactionBuffer;

  constructor(options: BaseStoreOptions = {}) {
    const overrides = Object.entries(options.policy ?? {}).filter(([, value]) => value !== undefined);
    this.policy = {
      ...DEFAULT_DELIVERY_POLICY,
      ...(Object.fromEntries(overrides) as Partial<DeliveryPolicy>),
    };
    this.actor = options.actor ?? "store";
    this.transactions = new TransactionBuffer(this.policy.transactionTimeoutMs, {
      maxOpen: this.policy.maxOpenTransactions,
      maxOps: this.policy.maxTransactionOps,
    });
  }

  // ---- primitives each backend implements ----------------------------------------------------------
  /** Applies every op or none; an ack whose lease is no longer held throws LeaseError and applies nothing. */
  protected abstract applyWrites(ops: WriteOp[]): Promise<WriteOutcome[]>;
  protected abstract leaseMessages(agent: QueueName, max: number, leaseMs: number): Promise<LeaseBatch>;
  /**
   * Acks each lease in list order, as many single acks would (a repeated lease is LEASE_NOT_FOUND the second time);
   * returns per lease undefined (acked) or why it was not. A lease that does not hold changes nothing.
   */
  protected abstract ackLeases(leases: readonly LeaseRef[]): Promise<(AckFailureCode | undefined)[]>;
  protected abstract nackLease(lease: LeaseRef, request: NackRequest): Promise<NackOutcome>;
  protected abstract extendLeaseUntil(lease: LeaseRef, leaseMs: number): Promise<number>;
  /** Registers for wake-ups on `agent`'s queue; resolves once a notification cannot be missed. */
  protected abstract watch(agent: QueueName): Promise<Waiter>;
  /** One bounded step along the dead-letter order (see DeadLetterScan). */
  protected abstract readDeadLetterPage(query: DeadLetterQuery): Promise<DeadLetterScan>;
  protected abstract readDeadLetter(agent: QueueName, id: string): Promise<DeadLetterRecord | undefined>;
  protected abstract removeDeadLetters(agent: QueueName, ids: MessageId[]): Promise<number>;
  protected abstract readQueueStats(agent: QueueName): Promise<QueueStats>;
  protected abstract dropQueue(agent: QueueName): Promise<boolean>;
  protected abstract readQueues(): Promise<QueueName[]>;
  /** Up to `limit` queue names after the backend's continuation token `after`. */
  protected abstract readQueuePage(after: string | undefined, limit: number): Promise<QueueScan>;
  memoryStatus(): Promise<StoreMemoryStatus | undefined> {
    return Promise.resolve(undefined);
  }
  /** Adds a subscription unless the agent is at one of its caps (checked in the same atomic step where possible). */
  protected abstract addSubscription(
    subscription: Subscription,
    limits: SubscriptionLimits,
  ): Promise<"existed" | "added" | "limit" | "wildcard-limit">;
  /** Removes a subscription; true when it was there. */
  protected abstract removeSubscription(subscription: Subscription): Promise<boolean>;
  protected abstract readSubscriptions(): Promise<Subscription[]>;
  /**
   * The subscriptions a publish to `topic` must look at: those whose pattern is exactly `topic` and every wildcard
   * one (capped per agent), never the whole list.
   */
  protected abstract readSubscribers(topic: Topic): Promise<Subscription[]>;
  protected abstract writeAgent(record: AgentRecord): Promise<void>;
  protected abstract readAgents(): Promise<AgentRecord[]>;
  /** One agent's registration, lapsed or not: registry writes cost O(1) whatever the number of agents. */
  protected abstract readAgent(name: AgentName): Promise<AgentRecord | undefined>;
  protected abstract deleteAgent(name: AgentName): Promise<boolean>;
  protected abstract appendTrace(events: TraceEvent[]): Promise<void>;
  protected abstract readTrace(id: string): Promise<TraceEvent[]>;
  protected abstract readCorrelation(correlationId: string): Promise<string[]>;
  abstract ping(): Promise<void>;
  protected abstract closeBackend(): Promise<void>;

  // ---- sending -------------------------------------------------------------------------------------
  async enqueue(agent: string, message: Message, options: WriteOptions = {}): Promise<SendResult> {
    const op = this.enqueueOp(toQueueName(agent), message, false);
    if (options.tx !== undefined) {
      this.transactions.add(toTransactionId(options.tx), op);
      return { id: message.id, duplicate: false };
    }
    const [outcome] = await this.applyWrites([op]);
    const result: SendResult = { id: message.id, duplicate: outcome?.duplicate ?? false };
    if (outcome?.deadLettered !== undefined) result.deadLettered = outcome.deadLettered;
    this.traceWrites([op], outcome === undefined ? [] : [outcome], options.actor);
    return result;
  }

  async publish(topic: string, message: Message, options: WriteOptions = {}): Promise<PublishResult> {
    const validTopic = toTopic(topic);
    const tx = options.tx === undefined ? undefined : this.transactions.check(toTransactionId(options.tx));
    const recipients = await this.subscribersOf(validTopic);
    const ops = recipients.map((agent) => this.enqueueOp(agent, message, false));
    if (tx !== undefined) {
      this.transactions.addAll(tx, ops);
      return { id: message.id, recipients, duplicate: false };
    }
    // Each recipient is its own atomic step: dedupe per queue makes a retried publish fill in what it missed.
    const outcomes = await Promise.all(ops.map(async (op) => (await this.applyWrites([op]))[0]));
    const delivered = recipients.filter((_, index) => outcomes[index]?.duplicate !== true);
    this.traceWrites(
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

  private async subscribersOf(topic: Topic): Promise<AgentName[]> {
    const agents = new Set<AgentName>();
    for (const { agent, pattern } of await this.readSubscribers(topic)) {
      if (topicMatches(pattern, topic)) agents.add(agent);
    }
    return [...agents].sort();
  }

  private enqueueOp(agent: QueueName, message: Message, replay: boolean): EnqueueOp {
    return {
      kind: "enqueue",
      agent,
      message,
      json: JSON.stringify(message),
      priority: messagePriority(message),
      dedupeKey: dedupeKeyOf(message),
      notBefore: timeOf(message.notbefore),
      expiresAt: timeOf(message.expiresat),
      replay,
    };
  }

  // ---- receiving -----------------------------------------------------------------------------------
  async receive(agent: string, options: ReceiveOptions = {}): Promise<Delivery[]> {
    const queue = toQueueName(agent);
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
        this.traceLease(queue, batch, options.actor);
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
      this.transactions.add(toTransactionId(options.tx), { kind: "ack", lease });
      return;
    }
    await this.applyWrites([{ kind: "ack", lease }]);
    this.trace([
      {
        messageId: lease.id,
        kind: "acked",
        at: Date.now(),
        actor: options.actor ?? this.actor,
        agent: lease.agent,
      },
    ]);
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
      const tx = this.transactions.check(toTransactionId(options.tx));
      // Checked at commit, like `ack` with `tx`: a lease that no longer holds then fails the whole commit.
      this.transactions.addAll(
        tx,
        leases.map((lease) => ({ kind: "ack", lease })),
      );
      return { acked: leases.map(formatLeaseId), failed: [] };
    }
    const result: AckManyResult = { acked: [], failed: [] };
    if (leases.length === 0) return result;
    const problems = await this.ackLeases(leases);
    const actor = options.actor ?? this.actor;
    const at = Date.now();
    const events: TraceEvent[] = [];
    leases.forEach((lease, index) => {
      const leaseId = formatLeaseId(lease);
      const code = problems[index];
      if (code !== undefined) {
        result.failed.push({ leaseId, code });
        return;
      }
      result.acked.push(leaseId);
      events.push({ messageId: lease.id, kind: "acked", at, actor, agent: lease.agent });
    });
    this.trace(events);
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
    const actor = options.actor ?? this.actor;
    const at = Date.now();
    const base = { messageId: lease.id, actor, agent: lease.agent, attempt: outcome.attempt };
    const events: TraceEvent[] = [
      { ...base, kind: "nacked", at, ...(options.reason === undefined ? {} : { reason: options.reason }) },
    ];
    if (outcome.outcome === "dead-lettered")
      events.push({ ...base, kind: "dead-lettered", at, reason: outcome.reason ?? "rejected" });
    this.trace(events);
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

  // ---- subscriptions -------------------------------------------------------------------------------
  async subscribe(agent: string, pattern: string): Promise<void> {
    const limits = {
      max: this.policy.maxSubscriptionsPerAgent,
      maxWildcard: this.policy.maxWildcardSubscriptionsPerAgent,
    };
    const outcome = await this.addSubscription(
      { agent: toAgentName(agent), pattern: toTopicPattern(pattern) },
      limits,
    );
    if (outcome === "limit" || outcome === "wildcard-limit") {
      const what =
        outcome === "limit" ? `${limits.max} subscriptions` : `${limits.maxWildcard} wildcard subscriptions`;
      throw new BmnError("TOO_MANY_SUBSCRIPTIONS", `agent ${agent} has ${what} already, the most allowed`, {
        field: "pattern",
      });
    }
  }

  async unsubscribe(agent: string, pattern: string): Promise<boolean> {
    return this.removeSubscription({ agent: toAgentName(agent), pattern: toTopicPattern(pattern) });
  }

  async listSubscriptions(agent?: string): Promise<Subscription[]> {
    const only = agent === undefined ? undefined : toAgentName(agent);
    const all = await this.readSubscriptions();
    return all
      .filter((subscription) => only === undefined || subscription.agent === only)
      .sort((a, b) => a.agent.localeCompare(b.agent) || a.pattern.localeCompare(b.pattern));
  }

  // ---- transactions --------------------------------------------------------------------------------
  beginTransaction(options: { timeoutMs?: number } = {}): Promise<TransactionId> {
    const timeoutMs = toCount(options.timeoutMs, "timeoutMs", 1);
    return Promise.resolve(this.transactions.begin(timeoutMs));
  }

  savepoint(tx: string): Promise<SavepointId> {
    return Promise.resolve(this.transactions.savepoint(toTransactionId(tx)));
  }

  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void> {
    this.transactions.rollbackTo(toTransactionId(tx), savepoint);
    return Promise.resolve();
  }

  async commit(tx: string): Promise<void> {
    const ops = this.transactions.take(toTransactionId(tx));
    if (ops.length === 0) return;
    let outcomes: WriteOutcome[];
    try {
      outcomes = await this.applyWrites(ops);
    } catch (error) {
      if (error instanceof LeaseError) {
        throw new TransactionError("TX_CONFLICT", `transaction ${tx} cannot commit: ${error.message}`, {
          cause: error,
        });
      }
      throw error;
    }
    this.traceWrites(ops, outcomes, undefined);
  }

  rollback(tx: string): Promise<void> {
    this.transactions.take(toTransactionId(tx));
    return Promise.resolve();
  }

  // ---- dead letters --------------------------------------------------------------------------------
  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    return (await this.listDeadLetterPage(filter)).deadLetters;
  }

  async listDeadLetterPage(
    filter: DeadLetterFilter & { cursor?: string | undefined } = {},
  ): Promise<DeadLetterPage> {
    const checked = this.checkDeadLetterFilter(filter);
    const scan = await this.readDeadLetterPage({
      agent: checked.agent,
      reason: checked.reason,
      after: filter.cursor === undefined ? undefined : decodeCursor(filter.cursor),
      until: undefined,
      limit: Math.min(checked.limit ?? DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE),
    });
    const page: DeadLetterPage = { deadLetters: scan.records.map(toDeadLetter) };
    if (scan.next !== undefined) page.nextCursor = encodeCursor(scan.next);
    return page;
  }

  async getDeadLetter(agent: string, id: string): Promise<DeadLetter | undefined> {
    const record = await this.readDeadLetter(toQueueName(agent), id);
    return record === undefined ? undefined : toDeadLetter(record);
  }

  async replayDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options: { to?: string } = {},
  ): Promise<number> {
    const target = options.to === undefined ? undefined : toAgentName(options.to, "to");
    let count = 0;
    await this.forEachDeadLetterChunk(filter, async (letters) => {
      for (const letter of letters) {
        const op = this.enqueueOp(target ?? letter.agent, storedMessage(letter.json), true);
        await this.applyWrites([op]);
        // A replay to its own queue dropped the dead letter in the same step; elsewhere, drop it once queued there.
        if (op.agent !== letter.agent) await this.removeDeadLetters(letter.agent, [op.message.id]);
        this.trace([
          {
            messageId: op.message.id,
            kind: "replayed",
            at: Date.now(),
            actor: this.actor,
            agent: op.agent,
            reason: letter.reason,
          },
        ]);
        count++;
      }
    });
    return count;
  }

  async purgeDeadLetters(filter: DeadLetterFilter & { ids?: string[] | undefined }): Promise<number> {
    let count = 0;
    await this.forEachDeadLetterChunk(filter, async (letters) => {
      const byAgent = new Map<QueueName, MessageId[]>();
      for (const letter of letters) {
        const ids = byAgent.get(letter.agent) ?? [];
        ids.push(letter.id as MessageId);
        byAgent.set(letter.agent, ids);
      }
      for (const [agent, ids] of byAgent) count += await this.removeDeadLetters(agent, ids);
      const at = Date.now();
      this.trace(
        letters.map((letter) => ({
          messageId: letter.id as MessageId,
          kind: "purged" as const,
          at,
          actor: this.actor,
          agent: letter.agent,
        })),
      );
    });
    return count;
  }

  /**
   * Hands the selected dead letters to `act` in chunks of DLQ_CHUNK, so no call ever holds a whole DLQ. Named ids
   * of a named agent are read one by one; otherwise the DLQ is walked in order, up to what was there at the start.
   */
  private async forEachDeadLetterChunk(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    act: (letters: DeadLetterRecord[]) => Promise<void>,
  ): Promise<void> {
    const checked = this.checkDeadLetterFilter(filter);
    let remaining = checked.limit ?? Infinity;
    const wanted = filter.ids === undefined ? undefined : new Set(filter.ids);
    if (wanted !== undefined && checked.agent !== undefined) {
      const agent = toQueueName(checked.agent);
      const ids = [...wanted];
      for (let start = 0; start < ids.length && remaining > 0; start += DLQ_CHUNK) {
        const found = await Promise.all(
          ids.slice(start, start + DLQ_CHUNK).map((id) => this.readDeadLetter(agent, id)),
        );
        const letters = found
          .filter((record) => record !== undefined)
          .filter((record) => checked.reason === undefined || record.reason === checked.reason)
          .slice(0, remaining);
        remaining -= letters.length;
        if (letters.length > 0) await act(letters);
      }
      return;
    }
    const until = Date.now();
    let after: DeadLetterPosition | undefined;
    while (remaining > 0 && (wanted === undefined || wanted.size > 0)) {
      const scan = await this.readDeadLetterPage({
        agent: checked.agent === undefined ? undefined : toQueueName(checked.agent),
        reason: checked.reason,
        after,
        until,
        limit: DLQ_CHUNK,
      });
      const letters = scan.records
        .filter((record) => wanted === undefined || wanted.delete(record.id))
        .slice(0, remaining);
      remaining -= letters.length;
      if (letters.length > 0) await act(letters);
      if (scan.next === undefined) return;
      after = scan.next;
    }
  }

  private checkDeadLetterFilter(filter: DeadLetterFilter): DeadLetterFilter & { agent?: QueueName } {
    const limit = toCount(filter.limit, "limit", 1);
    if (filter.reason !== undefined && !isDeadLetterReason(filter.reason)) {
      throw new ValidationError(`reason must be one of ${DEAD_LETTER_REASONS.join(", ")}`, {
        code: "INVALID_ARGUMENT",
        field: "reason",
      });
    }
    const agent = filter.agent === undefined ? undefined : toQueueName(filter.agent);
    return { reason: filter.reason, limit, ...(agent === undefined ? {} : { agent }) };
  }

  // ---- trace ---------------------------------------------------------------------------------------
  async traceOf(messageId: string): Promise<TraceEvent[]> {
    // One message's events are stored in the order they happened.
    return this.readTrace(messageId);
  }

  async traceByCorrelation(correlationId: string): Promise<TraceEvent[]> {
    const ids = await this.readCorrelation(correlationId);
    const events = await Promise.all(ids.map((id) => this.readTrace(id)));
    return sortEvents(events.flat());
  }

  private trace(events: TraceEvent[]): void {
    if (this.policy.traceRetentionMs <= 0 || events.length === 0) return;
    // Best effort by design: observability must never fail or slow down a send.
    this.appendTrace(events).catch(() => undefined);
  }

  private traceWrites(
    ops: WriteOp[],
    outcomes: WriteOutcome[],
    actorName: string | undefined,
    topic?: Topic,
  ): void {
    if (this.policy.traceRetentionMs <= 0) return;
    const actor = actorName ?? this.actor;
    const at = Date.now();
    const events: TraceEvent[] = [];
    ops.forEach((op, index) => {
      const outcome = outcomes[index];
      if (op.kind === "ack") {
        events.push({ messageId: op.lease.id, kind: "acked", at, actor, agent: op.lease.agent });
        return;
      }
      const base = {
        messageId: op.message.id,
        at,
        actor,
        agent: op.agent,
        ...(topic === undefined ? {} : { topic }),
        ...(op.message.correlationid === undefined ? {} : { correlationId: op.message.correlationid }),
      };
      if (outcome?.duplicate === true) {
        events.push({ ...base, kind: "duplicate" });
        return;
      }
      events.push({ ...base, kind: "accepted" }, { ...base, kind: "enqueued" });
      if (outcome?.deadLettered !== undefined)
        events.push({ ...base, kind: "dead-lettered", reason: outcome.deadLettered });
    });
    this.trace(events);
  }

  private traceLease(agent: QueueName, batch: LeaseBatch, actorName: string | undefined): void {
    if (this.policy.traceRetentionMs <= 0) return;
    const actor = actorName ?? this.actor;
    const at = Date.now();
    const events: TraceEvent[] = [
      ...batch.expiredLeases.map(({ id, attempt }): TraceEvent => ({
        messageId: id,
        kind: "lease-expired",
        at,
        actor,
        agent,
        attempt,
      })),
      ...batch.deadLettered.map(({ id, reason }): TraceEvent => ({
        messageId: id,
        kind: "dead-lettered",
        at,
        actor,
        agent,
        reason,
      })),
      ...batch.deliveries.map(({ id, attempt }): TraceEvent => ({
        messageId: id,
        kind: "leased",
        at,
        actor,
        agent,
        attempt,
      })),
    ];
    this.trace(events);
  }

  // ---- stats and registry --------------------------------------------------------------------------
  async queueStats(agent: string): Promise<QueueStats> {
    return this.readQueueStats(toQueueName(agent));
  }

  async listQueues(): Promise<QueueName[]> {
    return (await this.readQueues()).sort();
  }

  async deleteQueue(agent: string): Promise<boolean> {
    return this.dropQueue(toQueueName(agent));
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

  async registerAgent(registration: AgentRegistration): Promise<AgentRecord> {
    const name = toAgentName(registration.name, "name");
    const ttlMs = toCount(registration.ttlMs, "ttlMs", 1) ?? DEFAULT_AGENT_TTL_MS;
    const capabilities = (registration.capabilities ?? []).map((capability, index) => {
      const parsed = capabilitySchema.safeParse(capability);
      if (!parsed.success) {
        throw new ValidationError(
          `capabilities.${index} ${parsed.error.issues[0]?.message ?? "is invalid"}`,
          {
            code: "INVALID_ARGUMENT",
            field: `capabilities.${index}`,
          },
        );
      }
      return parsed.data;
    });
    const now = Date.now();
    const known = await this.readAgent(name);
    const existing = known !== undefined && known.expiresAt > now ? known : undefined;
    const record: AgentRecord = {
      name,
      capabilities: [...new Set(capabilities)].sort(),
      metadata: { ...registration.metadata },
      registeredAt: existing?.registeredAt ?? now,
      lastSeenAt: now,
      expiresAt: now + ttlMs,
    };
    await this.writeAgent(record);
    return record;
  }

  async heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord> {
    const name = toAgentName(agent);
    const ttl = toCount(ttlMs, "ttlMs", 1);
    const now = Date.now();
    const known = await this.readAgent(name);
    const existing = known !== undefined && known.expiresAt > now ? known : undefined;
    if (existing === undefined)
      throw new NotFoundError(`agent ${name} is not registered (or its registration lapsed)`, {
        field: "agent",
      });
    const record: AgentRecord = {
      ...existing,
      lastSeenAt: now,
      expiresAt: now + (ttl ?? existing.expiresAt - existing.lastSeenAt),
    };
    await this.writeAgent(record);
    return record;
  }

  async deregisterAgent(agent: string): Promise<boolean> {
    return this.deleteAgent(toAgentName(agent));
  }

  async listAgents(filter: { capability?: string } = {}): Promise<AgentRecord[]> {
    const now = Date.now();
    return (await this.readAgents())
      .filter((record) => record.expiresAt > now)
      .filter((record) => filter.capability === undefined || record.capabilities.includes(filter.capability))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  async close(): Promise<void> {
    this.transactions.close();
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

/** Stored messages were validated when they were accepted; re-validating each delivery would only cost time. */
function storedMessage(json: string): Message {
  return JSON.parse(json) as Message;
}

function toDeadLetter(record: DeadLetterRecord): DeadLetter {
  const letter: DeadLetter = {
    agent: record.agent,
    message: storedMessage(record.json),
    reason: record.reason,
    deadLetteredAt: record.deadLetteredAt,
    attempts: record.attempts,
  };
  if (record.lastError !== undefined) letter.lastError = record.lastError;
  return letter;
}

/** Orders by time; the sort is stable, so events of one millisecond keep the order they were recorded in. */
function sortEvents(events: TraceEvent[]): TraceEvent[] {
  return events.sort((a, b) => a.at - b.at);
}

export function isBmnErrorCode(error: unknown, code: string): boolean {
  return error instanceof BmnError && error.code === code;
}
