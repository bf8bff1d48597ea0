import { DEAD_LETTER_REASONS, isDeadLetterReason } from "../../core/dead-letter.js";
import { ValidationError } from "../../core/errors.js";
import type { Message } from "../../core/envelope.js";
import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import type {
  DeadLetterPosition,
  DeadLetterQuery,
  DeadLetterRecord,
  DeadLetterScan,
} from "../backend-types.js";
import { decodeCursor, encodeCursor } from "../page-cursor.js";
import type {
  DeadLetter,
  DeadLetterFilter,
  DeadLetterPage,
  DeadLetterSelection,
  DeadLetterStore,
} from "../roles/dead-letters.js";
import { DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from "../roles/paging.js";
import { toAgentName, toCount, toQueueName } from "../validate.js";
import { storedMessage } from "./stored-message.js";
import type { TraceRecorder } from "./trace-recorder.js";

/** Dead letters one purge or replay step handles at most. */
const DLQ_CHUNK = 500;

/** The dead-letter primitives a backend implements (one object, e.g. RedisDeadLetters). */
export interface DeadLetterPrimitives {
  /** One bounded step along the dead-letter order (see DeadLetterScan). */
  readDeadLetterPage(query: DeadLetterQuery): Promise<DeadLetterScan>;
  readDeadLetter(queue: QueueName, id: string): Promise<DeadLetterRecord | undefined>;
  removeDeadLetters(queue: QueueName, ids: MessageId[]): Promise<number>;
}

/** What the dead-letter role needs: the primitives, and a way to queue a message again. */
export interface DeadLetterBackend extends DeadLetterPrimitives {
  /**
   * Queues `message` again with a fresh attempt count, bypassing dedupe; a dead letter of the same id in that queue
   * is dropped in the same step.
   */
  requeue(queue: QueueName, message: Message): Promise<void>;
}

/** The dead-letter role, the same for every backend: paging, and replay and purge in bounded chunks. */
export class DeadLetterRole implements DeadLetterStore {
  constructor(
    private readonly backend: DeadLetterBackend,
    private readonly trace: TraceRecorder,
  ) {}

  async listDeadLetters(filter: DeadLetterFilter = {}): Promise<DeadLetter[]> {
    return (await this.listDeadLetterPage(filter)).deadLetters;
  }

  async listDeadLetterPage(
    filter: DeadLetterFilter & { cursor?: string | undefined } = {},
  ): Promise<DeadLetterPage> {
    const checked = checkDeadLetterFilter(filter);
    const scan = await this.backend.readDeadLetterPage({
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

  async getDeadLetter(queue: string, id: string): Promise<DeadLetter | undefined> {
    const record = await this.backend.readDeadLetter(toQueueName(queue), id);
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
        const queue = target ?? letter.agent;
        const message = storedMessage(letter.json);
        await this.backend.requeue(queue, message);
        // A replay to its own queue dropped the dead letter in the same step; elsewhere, drop it once queued there.
        if (queue !== letter.agent) await this.backend.removeDeadLetters(letter.agent, [message.id]);
        this.trace.record([
          {
            messageId: message.id,
            kind: "replayed",
            at: Date.now(),
            actor: this.trace.actor(undefined),
            agent: queue,
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
      const byQueue = new Map<QueueName, MessageId[]>();
      for (const letter of letters) {
        const ids = byQueue.get(letter.agent) ?? [];
        ids.push(letter.id as MessageId);
        byQueue.set(letter.agent, ids);
      }
      for (const [queue, ids] of byQueue) count += await this.backend.removeDeadLetters(queue, ids);
      const at = Date.now();
      const actor = this.trace.actor(undefined);
      this.trace.record(
        letters.map((letter) => ({
          messageId: letter.id as MessageId,
          kind: "purged" as const,
          at,
          actor,
          agent: letter.agent,
        })),
      );
    });
    return count;
  }

  async selectDeadLetters(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    options: { to?: string } = {},
  ): Promise<DeadLetterSelection> {
    const target = options.to === undefined ? undefined : toAgentName(options.to, "to");
    const selection: DeadLetterSelection = { count: 0, letters: [] };
    // The same walk as replay and purge, so a dry run selects exactly what they would take.
    await this.forEachDeadLetterChunk(filter, (letters) => {
      selection.count += letters.length;
      for (const letter of letters.slice(0, MAX_PAGE_SIZE - selection.letters.length)) {
        selection.letters.push({
          agent: letter.agent,
          id: letter.id,
          reason: letter.reason,
          deadLetteredAt: letter.deadLetteredAt,
          to: target ?? letter.agent,
        });
      }
      return Promise.resolve();
    });
    return selection;
  }

  /**
   * Hands the selected dead letters to `act` in chunks of DLQ_CHUNK, so no call ever holds a whole DLQ. Named ids
   * of a named queue are read one by one; otherwise the DLQ is walked in order, up to what was there at the start.
   */
  private async forEachDeadLetterChunk(
    filter: DeadLetterFilter & { ids?: string[] | undefined },
    act: (letters: DeadLetterRecord[]) => Promise<void>,
  ): Promise<void> {
    const checked = checkDeadLetterFilter(filter);
    const before = toCount(filter.deadLetteredBefore, "deadLetteredBefore");
    let remaining = checked.limit ?? Infinity;
    const wanted = filter.ids === undefined ? undefined : new Set(filter.ids);
    if (wanted !== undefined && checked.agent !== undefined) {
      const queue = checked.agent;
      const ids = [...wanted];
      for (let start = 0; start < ids.length && remaining > 0; start += DLQ_CHUNK) {
        const found = await Promise.all(
          ids.slice(start, start + DLQ_CHUNK).map((id) => this.backend.readDeadLetter(queue, id)),
        );
        const letters = found
          .filter((record) => record !== undefined)
          .filter((record) => checked.reason === undefined || record.reason === checked.reason)
          .filter((record) => before === undefined || record.deadLetteredAt <= before)
          .slice(0, remaining);
        remaining -= letters.length;
        if (letters.length > 0) await act(letters);
      }
      return;
    }
    const until = Math.min(Date.now(), before ?? Infinity);
    let after: DeadLetterPosition | undefined;
    while (remaining > 0 && (wanted === undefined || wanted.size > 0)) {
      const scan = await this.backend.readDeadLetterPage({
        agent: checked.agent,
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
}

function checkDeadLetterFilter(filter: DeadLetterFilter): DeadLetterFilter & { agent?: QueueName } {
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
