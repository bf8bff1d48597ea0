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
  id: string;
  json: string;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  attempts: AttemptRecord[];
  lastError?: string;
}

/** A place in the dead-letter order: by time, then queue, then id. */
export interface DeadLetterPosition {
  at: number;
  agent: QueueName;
  id: string;
}

export interface DeadLetterQuery {
  /** One queue, or every queue. */
  agent: QueueName | undefined;
  reason: DeadLetterReason | undefined;
  /** Strictly after this place. */
  after: DeadLetterPosition | undefined;
  /** Only letters dead-lettered at or before this time (epoch ms). */
  until: number | undefined;
  limit: number;
}

/** One bounded read of the dead-letter order. */
export interface DeadLetterScan {
  /** Matching records after `after`, in order, at most `limit`. */
  records: DeadLetterRecord[];
  /**
   * Where the next read must start when there may be more: everything up to here was looked at. Undefined when
   * nothing matching is left.
   */
  next: DeadLetterPosition | undefined;
}

export interface QueueScan {
  queues: QueueName[];
  /** The backend's own continuation token; undefined on the last page. */
  next: string | undefined;
}

export function comparePositions(a: DeadLetterPosition, b: DeadLetterPosition): number {
  if (a.at !== b.at) return a.at - b.at;
  if (a.agent !== b.agent) return a.agent < b.agent ? -1 : 1;
  if (a.id !== b.id) return a.id < b.id ? -1 : 1;
  return 0;
}

export function positionOf(record: DeadLetterRecord): DeadLetterPosition {
  return { at: record.deadLetteredAt, agent: record.agent, id: record.id };
}

/**
 * Joins the scans of several queues into one step of the global order. A queue that may hold more caps what can
 * be answered: records past its `next` could come after letters of that queue not yet looked at.
 */
export function mergeScans(scans: readonly DeadLetterScan[], limit: number): DeadLetterScan {
  const frontier = scans
    .map((scan) => scan.next)
    .filter((next) => next !== undefined)
    .sort(comparePositions)[0];
  const records = scans
    .flatMap((scan) => scan.records)
    .filter((record) => frontier === undefined || comparePositions(positionOf(record), frontier) <= 0)
    .sort((a, b) => comparePositions(positionOf(a), positionOf(b)));
  const last = records[limit - 1];
  if (records.length > limit && last !== undefined)
    return { records: records.slice(0, limit), next: positionOf(last) };
  return { records, next: frontier };
}

/** Whether a record at `position` belongs to a query's range. */
export function inRange(query: DeadLetterQuery, position: DeadLetterPosition): boolean {
  if (query.until !== undefined && position.at > query.until) return false;
  return query.after === undefined || comparePositions(position, query.after) > 0;
}

/** One message as a backend holds it in a queue, for browsing. */
export interface QueuedEntry {
  json: string;
  attempts: number;
  /** Visible-at for delayed entries, lease expiry for leased ones. */
  dueAt: number | undefined;
}
