import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import {
  inRange,
  mergeScans,
  type DeadLetterQuery,
  type DeadLetterRecord,
  type DeadLetterScan,
} from "../backend-types.js";
import type { DeadLetterPrimitives } from "../base/dead-letter-role.js";
import type { MemoryQueue } from "./memory-queue.js";

/** The dead letters of the memory store: each queue keeps its own (MemoryQueue.deadLetters). */
export class MemoryDeadLetters implements DeadLetterPrimitives {
  constructor(private readonly queues: ReadonlyMap<QueueName, MemoryQueue>) {}

  readDeadLetterPage(query: DeadLetterQuery): Promise<DeadLetterScan> {
    const agents = query.agent === undefined ? [...this.queues.keys()] : [query.agent];
    const records: DeadLetterRecord[] = [];
    for (const agent of agents) {
      for (const [id, letter] of this.queues.get(agent)?.deadLetters ?? []) {
        if (query.reason !== undefined && letter.reason !== query.reason) continue;
        if (!inRange(query, { at: letter.deadLetteredAt, agent, id })) continue;
        records.push(toRecord(agent, id, letter));
      }
    }
    return Promise.resolve(mergeScans([{ records, next: undefined }], query.limit));
  }

  readDeadLetter(agent: QueueName, id: string): Promise<DeadLetterRecord | undefined> {
    const letter = this.queues.get(agent)?.deadLetters.get(id as MessageId);
    return Promise.resolve(letter === undefined ? undefined : toRecord(agent, id as MessageId, letter));
  }

  removeDeadLetters(agent: QueueName, ids: MessageId[]): Promise<number> {
    const queue = this.queues.get(agent);
    return Promise.resolve(ids.filter((id) => queue?.deadLetters.delete(id) === true).length);
  }
}

function toRecord(
  agent: QueueName,
  id: MessageId,
  letter: MemoryQueue["deadLetters"] extends Map<MessageId, infer V> ? V : never,
): DeadLetterRecord {
  const record: DeadLetterRecord = {
    agent,
    id,
    json: letter.json,
    reason: letter.reason,
    deadLetteredAt: letter.deadLetteredAt,
    attempts: [...letter.attempts],
  };
  if (letter.lastError !== undefined) record.lastError = letter.lastError;
  return record;
}
