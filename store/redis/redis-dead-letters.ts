import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import { mapBounded } from "../../runtime/resilience/map-bounded.js";
import {
  inRange,
  mergeScans,
  positionOf,
  type DeadLetterPosition,
  type DeadLetterQuery,
  type DeadLetterRecord,
  type DeadLetterScan,
} from "../backend-types.js";
import type { AttemptRecord, DeadLetterReason } from "../store.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";
import type { ScriptRunner } from "./script-runner.js";

/** Dead letters one sorted-set read takes, and one page scan looks at, at most. */
const DLQ_SCAN_BATCH = 500;
const DLQ_SCAN_BUDGET = 5_000;
/** Queues read at once when a call spans every queue. */
const FAN_OUT = 16;

/**
 * The dead-letter primitives of the Redis backend: per queue a sorted set (`dlq`, by time) and two hashes (`dlqinfo`,
 * `dlqmsg`); removal is one script on the queue's slot.
 */
export class RedisDeadLetters {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly scripts: ScriptRunner,
    private readonly readQueues: () => Promise<QueueName[]>,
  ) {}

  async readDeadLetterPage(query: DeadLetterQuery): Promise<DeadLetterScan> {
    if (query.agent !== undefined) return this.scanAgentDeadLetters(query.agent, query);
    // Without an agent every queue is looked at (cost grows with the number of queues, never with DLQ size).
    const queues = await this.readQueues();
    const scans = await mapBounded(queues, FAN_OUT, (agent) => this.scanAgentDeadLetters(agent, query));
    return mergeScans(scans, query.limit);
  }

  /**
   * One queue's dead letters in (time, id) order, which is the sorted set's own order (ties sort by member).
   * Reads at most DLQ_SCAN_BUDGET entries and fetches bodies only for those it answers.
   */
  private async scanAgentDeadLetters(agent: QueueName, query: DeadLetterQuery): Promise<DeadLetterScan> {
    const key = this.keys.queueKey(agent, "dlq");
    const min = query.after === undefined ? "-inf" : String(query.after.at);
    const max = query.until === undefined ? "+inf" : String(query.until);
    const batch = query.reason === undefined ? Math.min(query.limit + 1, DLQ_SCAN_BATCH) : DLQ_SCAN_BATCH;
    const records: DeadLetterRecord[] = [];
    let offset = 0;
    let lastSeen: DeadLetterPosition | undefined;
    while (offset < DLQ_SCAN_BUDGET) {
      const raw = await callRedis(() =>
        this.client.zrangebyscore(key, min, max, "WITHSCORES", "LIMIT", offset, batch),
      );
      const entries: DeadLetterPosition[] = [];
      for (let i = 0; i + 1 < raw.length; i += 2)
        entries.push({ agent, id: String(raw[i]), at: Number(raw[i + 1]) });
      offset += entries.length;
      const candidates = entries.filter((entry) => inRange(query, entry));
      const ids = candidates.map((entry) => entry.id);
      const infos =
        ids.length === 0
          ? []
          : await callRedis(() => this.client.hmget(this.keys.queueKey(agent, "dlqinfo"), ...ids));
      const chosen = ids
        .filter((_, index) => {
          const info = infos[index];
          return info != null && (query.reason === undefined || reasonOf(info) === query.reason);
        })
        .slice(0, query.limit - records.length);
      const jsons =
        chosen.length === 0
          ? []
          : await callRedis(() => this.client.hmget(this.keys.queueKey(agent, "dlqmsg"), ...chosen));
      chosen.forEach((id, index) => {
        const record = toDeadLetterRecord(agent, id, jsons[index], infos[ids.indexOf(id)]);
        if (record !== undefined) records.push(record);
      });
      const lastRecord = records.at(-1);
      if (records.length >= query.limit && lastRecord !== undefined) {
        const exhausted = entries.length < batch && lastRecord.id === entries.at(-1)?.id;
        return { records, next: exhausted ? undefined : positionOf(lastRecord) };
      }
      if (entries.length < batch) return { records, next: undefined };
      lastSeen = entries.at(-1);
    }
    return { records, next: lastSeen };
  }

  async readDeadLetter(agent: QueueName, id: string): Promise<DeadLetterRecord | undefined> {
    const [json, info] = await callRedis(() =>
      Promise.all([
        this.client.hget(this.keys.queueKey(agent, "dlqmsg"), id),
        this.client.hget(this.keys.queueKey(agent, "dlqinfo"), id),
      ]),
    );
    return toDeadLetterRecord(agent, id, json, info);
  }

  async removeDeadLetters(agent: QueueName, ids: MessageId[]): Promise<number> {
    return Number(await callRedis(() => this.scripts.run("dlq-remove-12", this.keys.queue(agent), ids)));
  }
}

function reasonOf(info: string): DeadLetterReason {
  return (JSON.parse(info) as { reason: DeadLetterReason }).reason;
}

function toDeadLetterRecord(
  agent: QueueName,
  id: string,
  json: string | null | undefined,
  info: string | null | undefined,
): DeadLetterRecord | undefined {
  if (json === null || json === undefined || info === null || info === undefined) return undefined;
  const parsed = JSON.parse(info) as {
    reason: DeadLetterReason;
    at: number;
    attempts: AttemptRecord[] | Record<string, never>;
    lastError?: string;
  };
  const record: DeadLetterRecord = {
    agent,
    id,
    json,
    reason: parsed.reason,
    deadLetteredAt: parsed.at,
    attempts: Array.isArray(parsed.attempts) ? parsed.attempts : [],
  };
  if (parsed.lastError !== undefined) record.lastError = parsed.lastError;
  return record;
}
