import { QUEUED_MESSAGE_STATES } from "../../core/api/registry-api.js";
import type { Message } from "../../core/envelope.js";
import type { DeadLetterReason } from "../../core/dead-letter.js";
import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";

/**
 * Queues and leases: point-to-point delivery. A queue is an agent's inbox or a remote domain's outbox
 * `bmn.out.<domain>`; wherever a queue is taken, both work.
 */
export interface QueueStore {
  /** Queues a message. A repeated id or dedupekey within the dedupe window is accepted once. */
  enqueue(queue: string, message: Message, options?: WriteOptions): Promise<SendResult>;
  /**
   * Queues many messages, each to its own queue, in one atomic backend step (all or none): each result is what
   * `enqueue` of it would answer, dedupe included. For a gateway storing a peer's batch.
   */
  enqueueMany(items: readonly EnqueueItem[], options?: { actor?: string | undefined }): Promise<SendResult[]>;
  /** Leases up to `max` messages, waiting up to `waitMs` for the first one without busy polling. */
  receive(queue: string, options?: ReceiveOptions): Promise<Delivery[]>;
  ack(leaseId: string, options?: SettleOptions): Promise<void>;
  /**
   * Acks many leases at once, with the outcome of each: the same as one `ack` per lease id in list order (trace
   * events, dedupe bookkeeping), in as few backend round trips as the backend allows. A lease that no longer
   * holds is reported in `failed` with the code `ack` would throw; the others are acked all the same.
   */
  ackMany(leaseIds: readonly string[], options?: SettleOptions): Promise<AckManyResult>;
  nack(leaseId: string, options?: NackOptions): Promise<NackResult>;
  extendLease(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }>;

  queueStats(queue: string): Promise<QueueStats>;
  /** Every queue, sorted; for small deployments and tests. Lists that an API serves use `listQueuePage`. */
  listQueues(): Promise<QueueName[]>;
  /** Queue names one capped page at a time; the order is the backend's, stable across pages. */
  listQueuePage(options?: { limit?: number | undefined; cursor?: string | undefined }): Promise<QueuePage>;
  /**
   * One page of a queue's messages in one state, without leasing or changing anything: ready ones in delivery
   * order, delayed ones by the time they become visible, leased ones by lease expiry. The cursor is a position,
   * so messages that leave the queue meanwhile shift later pages.
   */
  browseQueue(queue: string, options: BrowseOptions): Promise<QueuedMessagePage>;
  /**
   * Deletes a queue with everything in it (messages, leases, dedupe window, dead letters); true when it existed.
   * For queues whose owner is gone, such as the reply inbox of a finished request.
   */
  deleteQueue(queue: string): Promise<boolean>;
}

export interface EnqueueItem {
  queue: string;
  message: Message;
}

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

export interface QueueStats {
  agent: QueueName;
  /** Visible now or once due: everything not leased and not dead-lettered. */
  depth: number;
  ready: number;
  delayed: number;
  inFlight: number;
  deadLettered: number;
}

export interface QueuePage {
  queues: QueueName[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}

export { QUEUED_MESSAGE_STATES };
export type QueuedMessageState = (typeof QUEUED_MESSAGE_STATES)[number];

export interface BrowseOptions {
  state: QueuedMessageState;
  limit?: number | undefined;
  cursor?: string | undefined;
}

/** A message as it sits in a queue. */
export interface QueuedMessage {
  message: Message;
  state: QueuedMessageState;
  /** Deliveries so far. */
  attempts: number;
  /** When a delayed message becomes visible, or a leased one's lease runs out; absent for ready ones. */
  dueAt?: number;
}

export interface QueuedMessagePage {
  messages: QueuedMessage[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}
