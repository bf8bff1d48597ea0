import { randomInt } from "node:crypto";
import type { TraceBackend } from "../base/trace-recorder.js";
import type { TraceEvent } from "../store.js";
import type { EndpointPool } from "./endpoint-pool.js";
import type { SqlParam } from "./sql-client.js";
import type { SqlTables } from "./sql-tables.js";
import { pow2Chunks, text, tuples } from "./sql-util.js";

/** Trace events in the SQL trace table, written in batches. */
export class SqlTrace implements TraceBackend {
  /** Trace events not yet written, and the write in progress; reads of the trace wait for both. */
  private traceBuffer: TraceEvent[] = [];
  private traceFlush: Promise<void> | undefined;
  private traceOrd = 0;
  private readonly traceTag = randomInt(0, 2 ** 20) * 2 ** 32;

  constructor(
    private readonly client: EndpointPool,
    private readonly tables: SqlTables,
    private readonly retentionMs: number,
  ) {}

  /**
   * Buffers events and writes them in batches (one multi-row INSERT per flush), so tracing costs no round trip
   * per event. Reads of the trace flush first, so a process always reads its own events.
   */
  appendTrace(events: TraceEvent[]): Promise<void> {
    this.traceBuffer.push(...events);
    return this.flushTrace();
  }

  private flushTrace(): Promise<void> {
    if (this.traceFlush !== undefined) return this.traceFlush.then(() => this.flushTrace());
    if (this.traceBuffer.length === 0) return Promise.resolve();
    const events = this.traceBuffer;
    this.traceBuffer = [];
    const flush = this.writeTrace(events).finally(() => {
      this.traceFlush = undefined;
    });
    this.traceFlush = flush;
    return flush;
  }

  private async writeTrace(events: TraceEvent[]): Promise<void> {
    const expiresAt = Date.now() + this.retentionMs;
    const rows = events.map((event): SqlParam[] => [
      event.messageId,
      event.at,
      this.traceTag + this.traceOrd++,
      event.correlationId ?? null,
      expiresAt,
      JSON.stringify(event),
      // Extracted for the analytics (migration 2); the columns are sized for them.
      event.kind.slice(0, 16),
      event.agent ?? null,
      event.actor.slice(0, 255),
    ]);
    for (const chunk of pow2Chunks(rows)) {
      await this.client.run(
        `INSERT INTO ${this.tables.trace} (message_id, at_ms, ord, correlation_id, expires_at, body, kind, agent, actor)
          VALUES ${tuples(chunk.length, 9)}`,
        chunk.flat(),
      );
    }
  }

  /** Waits for trace writes of this process that were buffered or in flight, ignoring their failures. */
  async settledTrace(): Promise<void> {
    await this.flushTrace().catch(() => undefined);
  }

  async readTrace(id: string): Promise<TraceEvent[]> {
    await this.settledTrace();
    const rows = await this.client.rows(
      `SELECT body FROM ${this.tables.trace} WHERE message_id = ? AND expires_at > ? ORDER BY at_ms, ord`,
      [id, Date.now()],
    );
    return rows.map((row) => JSON.parse(text(row.body)) as TraceEvent);
  }

  async readCorrelation(correlationId: string): Promise<string[]> {
    await this.settledTrace();
    const rows = await this.client.rows(
      `SELECT DISTINCT message_id FROM ${this.tables.trace} WHERE correlation_id = ? AND expires_at > ?`,
      [correlationId, Date.now()],
    );
    return rows.map((row) => text(row.message_id));
  }
}
