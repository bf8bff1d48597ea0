import type { TraceBackend } from "../base/trace-recorder.js";
import { GroupCommit, type GroupResult } from "../group-commit.js";
import type { TraceEvent } from "../store.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";
import type { ScriptRunner } from "./script-runner.js";

/** Events per `trace-append` call at most, so one call never keeps the server busy for long. */
const EVENTS_PER_SCRIPT = 512;
/**
 * How long events wait for others before they are written: at 1 000 msg/s a write then carries the events of
 * about five messages instead of one (each write to Redis is a syscall, the sidecar's largest cost; see
 * docs/benchmarks.md). Reads of the trace write what waits first.
 */
const COLLECT_MS = 5;

/**
 * Trace events in Redis: a list per message and a set of message ids per correlation id, both expiring. The events
 * of calls made within 5 ms, or while a write runs, leave together (store/group-commit.ts): on a standalone server
 * as one `trace-append` script call per 512 events, instead of two commands per message and event; on a Cluster,
 * where the keys are in many slots, as one RPUSH and one PEXPIRE per message.
 */
export class RedisTrace implements TraceBackend {
  private readonly writes = new GroupCommit<TraceEvent[], undefined>((calls) => this.write(calls), {
    maxInFlight: 1,
    maxGroup: 64,
    collectMs: COLLECT_MS,
  });

  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly retentionMs: number,
    /** The scripts of a standalone server; undefined on a Cluster. */
    private readonly scripts: ScriptRunner | undefined,
  ) {}

  /** The last write submitted; groups run one at a time in order, so once it lands every earlier one has. */
  private lastWrite: Promise<unknown> = Promise.resolve();

  async appendTrace(events: TraceEvent[]): Promise<void> {
    const write = this.writes.submit(events);
    this.lastWrite = write.catch(() => undefined);
    await write;
  }

  /** A read sees this process's own events: those waiting for the next group would otherwise land after it. */
  private async settled(): Promise<void> {
    this.writes.flushNow();
    await this.lastWrite;
  }

  private async write(calls: TraceEvent[][]): Promise<GroupResult<undefined>[]> {
    const events = calls.flat();
    if (this.scripts === undefined) await this.writeCommands(events);
    else {
      // In order, slice after slice, so a message's events stay in the order they were recorded.
      for (let offset = 0; offset < events.length; offset += EVENTS_PER_SCRIPT) {
        await this.writeScript(this.scripts, events.slice(offset, offset + EVENTS_PER_SCRIPT));
      }
    }
    return calls.map(() => ({ value: undefined }));
  }

  private async writeScript(scripts: ScriptRunner, events: TraceEvent[]): Promise<void> {
    const { perMessage, correlations } = groupEvents(events);
    const keys: string[] = [];
    const args: (string | number)[] = [this.retentionMs, perMessage.size];
    for (const [id, list] of perMessage) {
      keys.push(this.keys.trace(id));
      args.push(list.length, ...list);
    }
    for (const [correlationId, ids] of correlations) {
      keys.push(this.keys.correlation(correlationId));
      args.push(ids.size, ...ids);
    }
    await scripts.run("trace-append", keys, args);
  }

  private async writeCommands(events: TraceEvent[]): Promise<void> {
    const retention = this.retentionMs;
    const { perMessage, correlations } = groupEvents(events);
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
    await this.settled();
    const entries = await callRedis(() => this.client.lrange(this.keys.trace(id), 0, -1));
    return entries.map((json) => JSON.parse(json) as TraceEvent);
  }

  async readCorrelation(correlationId: string): Promise<string[]> {
    await this.settled();
    return callRedis(() => this.client.smembers(this.keys.correlation(correlationId)));
  }
}

/** The events as JSON per message id, in order, and the message ids of each correlation id. */
function groupEvents(events: readonly TraceEvent[]): {
  perMessage: Map<string, string[]>;
  correlations: Map<string, Set<string>>;
} {
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
  return { perMessage, correlations };
}
