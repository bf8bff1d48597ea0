import type { TRACE_EVENT_KINDS } from "../core/api/trace-api.js";
import type { Message } from "../core/envelope.js";
import type { MessageId, TransactionId } from "../core/ids.js";
import type { AgentName, QueueName, Topic, TopicPattern } from "../core/names.js";

/**
 * The backend-neutral storage contract. Every backend (memory, Redis, Redis Cluster, later TiDB) implements it and
 * passes the one conformance suite in test/conformance. Arguments are validated here, so a bad name or id is a
 * typed ValidationError whatever the backend.
 */
export interface MessageStore {
  readonly kind: "memory" | "redis" | "tidb";
  /** True when an accepted message survives a crash of this process (false for memory). */
  readonly durable: boolean;

  /**
   * Queues a message for one agent. A repeated id or dedupekey within the dedupe window is accepted once. Wherever
   * a queue is taken (here, receive, queueStats, the DLQ calls), a remote domain's outbox `bmn.out.<domain>` works.
   */
  enqueue(agent: string, message: Message, options?: WriteOptions): Promise<SendResult>;
  /** Fans a message out to every agent with a subscription pattern matching `topic`. */
  publish(topic: string, message: Message, options?: WriteOptions): Promise<PublishResult>;

  /** Leases up to `max` messages, waiting up to `waitMs` for the first one without busy polling. */
  receive(agent: string, options?: ReceiveOptions): Promise<Delivery[]>;
  ack(leaseId: string, options?: SettleOptions): Promise<void>;
  /**
   * Acks many leases at once, with the outcome of each: the same as one `ack` per lease id in list order (trace
   * events, dedupe bookkeeping), in as few backend round trips as the backend allows. A lease that no longer
   * holds is reported in `failed` with the code `ack` would throw; the others are acked all the same.
   */
  ackMany(leaseIds: readonly string[], options?: SettleOptions): Promise<AckManyResult>;
  nack(leaseId: string, options?: NackOptions): Promise<NackResult>;
  extendLease(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }>;

  subscribe(agent: string, pattern: string): Promise<void>;
  unsubscribe(agent: string, pattern: string): Promise<boolean>;
  listSubscriptions(agent?: string): Promise<Subscription[]>;

  beginTransaction(options?: { timeoutMs?: number }): Promise<TransactionId>;
  /** Marks a point inside a transaction that `rollbackToSavepoint` can return to (nested transactions). */
  savepoint(tx: string): Promise<SavepointId>;
  rollbackToSavepoint(tx: string, savepoint: SavepointId): Promise<void>;
  commit(tx: string): Promise<void>;
  rollback(tx: string): Promise<void>;

  /** The first page of `listDeadLetterPage` (at most MAX_PAGE_SIZE records). */
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /**
   * Dead letters oldest first, one capped page at a time; pass `nextCursor` back as `cursor` for the next page.
   * A page may hold fewer than `limit` records (even none) while `nextCursor` is set: the scan per call is bounded.
   */
  listDeadLetterPage(filter?: DeadLetterFilter & { cursor?: string | undefined }): Promise<DeadLetterPage>;
  getDeadLetter(agent: string, id: string): Promise<DeadLetter | undefined>;
  /**
   * Re-queues dead letters (to their agent, or to `to`) with a fresh attempt count; returns how many. Works in
   * bounded chunks, so any DLQ size is fine; letters dead-lettered after the call began are left alone.
   */
  replayDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options?: { to?: string },
  ): Promise<number>;
  purgeDeadLetters(filter: DeadLetterFilter & { ids?: string[] | undefined }): Promise<number>;

  traceOf(messageId: string): Promise<TraceEvent[]>;
  traceByCorrelation(correlationId: string): Promise<TraceEvent[]>;

  queueStats(agent: string): Promise<QueueStats>;
  /** Every queue, sorted; for small deployments and tests. Lists that an API serves use `listQueuePage`. */
  listQueues(): Promise<QueueName[]>;
  /**
   * Deletes a queue with everything in it (messages, leases, dedupe window, dead letters); true when it existed.
   * For queues whose owner is gone, such as the reply inbox of a finished request.
   */
  deleteQueue(agent: string): Promise<boolean>;
  /** Queue names one capped page at a time; the order is the backend's, stable across pages. */
  listQueuePage(options?: { limit?: number | undefined; cursor?: string | undefined }): Promise<QueuePage>;

  registerAgent(registration: AgentRegistration): Promise<AgentRecord>;
  /** Extends a registration; throws NOT_FOUND when the agent is unknown or its registration lapsed. */
  heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord>;
  deregisterAgent(agent: string): Promise<boolean>;
  listAgents(filter?: { capability?: string }): Promise<AgentRecord[]>;

  /** How full the backend's memory is, where the backend has a limit (Redis); undefined elsewhere. */
  memoryStatus(): Promise<StoreMemoryStatus | undefined>;

  /** Resolves when the backend answers; throws STORE_UNAVAILABLE otherwise. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** Delivery defaults of a domain. */
export interface DeliveryPolicy {
  maxAttempts: number;
  leaseMs: number;
  maxLeaseMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  dedupeWindowMs: number;
  /** How long trace events are kept; 0 turns tracing off. */
  traceRetentionMs: number;
  transactionTimeoutMs: number;
  /** Open transactions per process at most; more answer TOO_MANY_TRANSACTIONS (429). */
  maxOpenTransactions: number;
  /** Buffered writes per transaction at most; more answer TX_TOO_LARGE (409). */
  maxTransactionOps: number;
  /** Subscriptions per agent at most, and of those with `*` or `#`; more answer TOO_MANY_SUBSCRIPTIONS (409). */
  maxSubscriptionsPerAgent: number;
  maxWildcardSubscriptionsPerAgent: number;
  /** Upper bound on `max` for one receive. */
  maxBatch: number;
}

export const DEFAULT_DELIVERY_POLICY: DeliveryPolicy = {
  maxAttempts: 5,
  leaseMs: 30_000,
  maxLeaseMs: 12 * 60 * 60_000,
  backoffBaseMs: 1_000,
  backoffMaxMs: 5 * 60_000,
  dedupeWindowMs: 10 * 60_000,
  traceRetentionMs: 60 * 60_000,
  transactionTimeoutMs: 30_000,
  maxOpenTransactions: 1_000,
  maxTransactionOps: 1_000,
  maxSubscriptionsPerAgent: 256,
  maxWildcardSubscriptionsPerAgent: 32,
  maxBatch: 1_000,
};

export interface WriteOptions {
  tx?: string | undefined;
  /** Who did it, recorded in trace events: an agent, a sidecar or a gateway. */
  actor?: string | undefined;
}

export interface SendResult {
  id: MessageId;
  duplicate: boolean;
  /** Set when the message went straight to the DLQ (for example `expired`). */
  deadLettered?: DeadLetterReason;
}

export interface PublishResult {
  id: MessageId;
  /** Agents that got the message; those for which it was a duplicate are left out. */
  recipients: AgentName[];
  duplicate: boolean;
}

export interface ReceiveOptions {
  max?: number | undefined;
  leaseMs?: number | undefined;
  waitMs?: number | undefined;
  signal?: AbortSignal | undefined;
  actor?: string | undefined;
}

export interface Delivery {
  leaseId: string;
  attempt: number;
  leaseExpiresAt: number;
  agent: QueueName;
  message: Message;
}

export interface SettleOptions {
  tx?: string | undefined;
  actor?: string | undefined;
}

/** Why one lease of an `ackMany` was not acked: the code a single `ack` of it would throw. */
export type AckFailureCode = "LEASE_NOT_FOUND" | "LEASE_EXPIRED";

export interface AckManyResult {
  /** The lease ids acked, in the order given. */
  acked: string[];
  /** The lease ids not acked, in the order given, each with the reason. */
  failed: { leaseId: string; code: AckFailureCode }[];
}

export interface NackOptions {
  delayMs?: number | undefined;
  reason?: string | undefined;
  /** Skip the remaining attempts and dead-letter now, with reason `rejected`. */
  deadLetter?: boolean | undefined;
  /**
   * Skip the remaining attempts and dead-letter now with this reason (e.g. `forbidden`, `unroutable` from a
   * gateway); `reason` is kept as the detail (the attempt's reason and `lastError`). Implies `deadLetter`.
   */
  deadLetterReason?: DeadLetterReason | undefined;
  actor?: string | undefined;
}

export interface NackResult {
  outcome: "retry" | "dead-lettered";
  /** When the message becomes visible again, for `retry`. */
  redeliverAt?: number;
  reason?: DeadLetterReason;
}

export type SavepointId = number;

export interface Subscription {
  agent: AgentName;
  pattern: TopicPattern;
}

export { DEAD_LETTER_REASONS, type DeadLetterReason } from "../core/dead-letter.js";
import type { DeadLetterReason } from "../core/dead-letter.js";

export interface AttemptRecord {
  attempt: number;
  outcome: "nacked" | "lease-expired";
  at: number;
  reason?: string;
}

export interface DeadLetter {
  agent: QueueName;
  message: Message;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  /** Every delivery attempt the message had, oldest first. */
  attempts: AttemptRecord[];
  lastError?: string;
}

export interface DeadLetterFilter {
  agent?: string | undefined;
  reason?: DeadLetterReason | undefined;
  /** Page size; defaults to DEFAULT_PAGE_SIZE and is capped at MAX_PAGE_SIZE for listing. */
  limit?: number | undefined;
}

/** Listing pages: what a page holds by default and at most, as the HTTP contract states them. */
export { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../core/api/common.js";

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export interface QueuePage {
  queues: QueueName[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export interface StoreMemoryStatus {
  usedBytes: number;
  /** 0 when the backend has no limit. */
  maxBytes: number;
  /** The backend's eviction policy, e.g. Redis `noeviction`. */
  policy: string;
}

/** The kinds are part of the HTTP contract (core/api), which the store's trace follows. */
export { TRACE_EVENT_KINDS } from "../core/api/trace-api.js";
export type TraceEventKind = (typeof TRACE_EVENT_KINDS)[number];

export interface TraceEvent {
  messageId: MessageId;
  kind: TraceEventKind;
  at: number;
  actor: string;
  agent?: QueueName;
  topic?: Topic;
  attempt?: number;
  reason?: string;
  correlationId?: string;
}

export interface QueueStats {
  agent: QueueName;
  /** Visible now or once due: everything not leased and not dead-lettered. */
  depth: number;
  ready: number;
  delayed: number;
  inFlight: number;
  deadLettered: number;
}

export interface AgentRegistration {
  name: string;
  capabilities?: string[] | undefined;
  metadata?: Record<string, string> | undefined;
  ttlMs?: number | undefined;
}

export interface AgentRecord {
  name: AgentName;
  capabilities: string[];
  metadata: Record<string, string>;
  registeredAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export type { TransactionId, Topic };
