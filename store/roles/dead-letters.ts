import type { Message } from "../../core/envelope.js";
import type { DeadLetterReason } from "../../core/dead-letter.js";
import type { QueueName } from "../../core/names.js";

export { DEAD_LETTER_REASONS, type DeadLetterReason } from "../../core/dead-letter.js";

/** Dead letters: what a queue gave up on, to list, inspect, replay or purge. */
export interface DeadLetterStore {
  /** The first page of `listDeadLetterPage` (at most MAX_PAGE_SIZE records). */
  listDeadLetters(filter?: DeadLetterFilter): Promise<DeadLetter[]>;
  /**
   * Dead letters oldest first, one capped page at a time; pass `nextCursor` back as `cursor` for the next page.
   * A page may hold fewer than `limit` records (even none) while `nextCursor` is set: the scan per call is bounded.
   */
  listDeadLetterPage(filter?: DeadLetterFilter & { cursor?: string | undefined }): Promise<DeadLetterPage>;
  getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined>;
  /**
   * Re-queues dead letters (to their queue, or to `to`) with a fresh attempt count; returns how many. Works in
   * bounded chunks, so any DLQ size is fine; letters dead-lettered after the call began are left alone.
   */
  replayDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options?: { to?: string },
  ): Promise<number>;
  purgeDeadLetters(filter: DeadLetterFilter & { ids?: string[] | undefined }): Promise<number>;
  /**
   * What a replay (with `to`) or a purge of the same selection would take, changing nothing: a dry run. Counts
   * every selected letter and lists the first MAX_PAGE_SIZE of them.
   */
  selectDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options?: { to?: string },
  ): Promise<DeadLetterSelection>;
}

/** One dead letter a replay would move: from its queue to `to` (its own queue, or the redirect target). */
export interface DeadLetterMove {
  agent: QueueName;
  id: string;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  to: QueueName;
}

export interface DeadLetterSelection {
  count: number;
  /** The first MAX_PAGE_SIZE selected letters, oldest first. */
  letters: DeadLetterMove[];
}

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
  /** The queue (an agent's, or an outbox). */
  agent?: string | undefined;
  reason?: DeadLetterReason | undefined;
  /** Page size; defaults to DEFAULT_PAGE_SIZE and is capped at MAX_PAGE_SIZE for listing. */
  limit?: number | undefined;
  /** Replay and purge: only letters dead-lettered at or before this time (epoch ms). */
  deadLetteredBefore?: number | undefined;
}

export interface DeadLetterPage {
  deadLetters: DeadLetter[];
  /** Opaque; absent on the last page. */
  nextCursor?: string;
}
