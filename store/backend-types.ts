import type { Message } from "../core/envelope.js";
import type { MessageId } from "../core/ids.js";
import type { QueueName } from "../core/names.js";
import type { LeaseRef } from "./lease-id.js";
import type { AttemptRecord, DeadLetterReason, NackResult } from "./store.js";

/** The write operations a backend applies, alone or together in one atomic step (a transaction commit). */
export interface EnqueueOp {
  kind: "enqueue";
  agent: QueueName;
  message: Message;
  json: string;
  priority: number;
  dedupeKey: string;
  notBefore: number | undefined;
  expiresAt: number | undefined;
  /**
   * A replay from the DLQ: skips dedupe (the id is certainly in the window already) and, in the same atomic step,
   * removes this id's dead letter from the target queue, so a replayed message is never in neither place.
   */
  replay: boolean;
}

export interface AckOp {
  kind: "ack";
  lease: LeaseRef;
}

export type WriteOp = EnqueueOp | AckOp;

export interface WriteOutcome {
  duplicate: boolean;
  deadLettered?: DeadLetterReason;
}

export interface LeasedMessage {
  id: MessageId;
  token: string;
  attempt: number;
  leaseExpiresAt: number;
  json: string;
}

/** What one lease call did; times are the backend's clock (`now`). */
export interface LeaseBatch {
  now: number;
  deliveries: LeasedMessage[];
  /** Leases that ran out and were rescheduled or dead-lettered by this call. */
  expiredLeases: { id: MessageId; attempt: number }[];
  deadLettered: { id: MessageId; reason: DeadLetterReason }[];
  /** The next time something becomes visible (a delayed message or an expiring lease), if any. */
  nextDueAt: number | undefined;
}

export interface NackRequest {
  delayMs: number | undefined;
  reason: string | undefined;
  /** Dead-letter now with this reason (`rejected` for a plain `deadLetter: true`); undefined: a normal nack. */
  deadLetter: DeadLetterReason | undefined;
}

export interface NackOutcome extends NackResult {
  attempt: number;
}

export interface DeadLetterRecord {
  agent: QueueName;
  json: string;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  attempts: AttemptRecord[];
  lastError?: string;
}
