import type { TraceBackend } from "../base/trace-recorder.js";
import type { TraceEvent } from "../store.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";

/** Trace events in Redis: a list per message and a set of message ids per correlation id, both expiring. */
export class RedisTrace implements TraceBackend {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
  ) {}

  async appendTrace(events: TraceEvent[]): Promise<void> {
    const retention = this.retentionMs;
    // One RPUSH and one PEXPIRE per message, whatever the number of its events in this call.
    const perMessage = new Map<string, string[]>();
    const correlations = new Map<string, Set<string>>();
    for (const event of events) {
      const list = perMessage.get(event.messageId) ?? [];
      list.push(JSON.stringify(event));
      perMessage.set(event.messageId, list);
      if (event.correlationId !== undefined) {
        const ids = correlations.get(event.correlationId) ?? new Set<string>();
        ids.add(event.messageId);
        correlations.set(event.correlationId, ids);
      }
    }
    const writes: Promise<unknown>[] = [];
    for (const [id, list] of perMessage) {
      const key = this.keys.trace(id);
      writes.push(this.client.rpush(key, ...list), this.client.pexpire(key, retention));
    }
    for (const [correlationId, ids] of correlations) {
      const key = this.keys.correlation(correlationId);
      writes.push(this.client.sadd(key, ...ids), this.client.pexpire(key, retention));
    }
    await Promise.all(writes);
  }

  async readTrace(id: string): Promise<TraceEvent[]> {
    const entries = await callRedis(() => this.client.lrange(this.keys.trace(id), 0, -1));
    return entries.map((json) => JSON.parse(json) as TraceEvent);
  }

  async readCorrelation(correlationId: string): Promise<string[]> {
    return callRedis(() => this.client.smembers(this.keys.correlation(correlationId)));
  }
}
