import type { MessageId } from "../../core/ids.js";
import type { QueueName, Topic } from "../../core/names.js";
import type { LeaseBatch, WriteOp, WriteOutcome } from "../backend-types.js";
import type { TraceEvent, TraceStore } from "../roles/trace.js";

/** What the trace role needs of a backend. */
export interface TraceBackend {
  appendTrace(events: TraceEvent[]): Promise<void>;
  readTrace(id: string): Promise<TraceEvent[]>;
  readCorrelation(correlationId: string): Promise<string[]>;
}

/**
 * The trace role, the same for every backend: records the events of each state change (best effort, never
 * failing or slowing a send) and reads them back per message or per correlation id.
 */
export class TraceRecorder implements TraceStore {
  /** Writes under way, so a closing store can let them land (a shutting-down sidecar's last nacks). */
  private readonly pending = new Set<Promise<void>>();

  constructor(
    private readonly backend: TraceBackend,
    private readonly retentionMs: number,
    /** The actor of events whose call names none. */
    private readonly defaultActor: string,
  ) {}

  async traceOf(messageId: string): Promise<TraceEvent[]> {
    // In the order they were stored. Trace writes are not part of the store's atomic changes, so events that two
    // sidecars record at nearly the same time (a give-back and the next lease) can arrive swapped: read the
    // attempt numbers, not the positions, for cause and effect.
    return this.backend.readTrace(messageId);
  }

  async traceByCorrelation(correlationId: string): Promise<TraceEvent[]> {
    const ids = await this.backend.readCorrelation(correlationId);
    const events = await Promise.all(ids.map((id) => this.backend.readTrace(id)));
    // The sort is stable, so events of one millisecond keep the order they were recorded in.
    return events.flat().sort((a, b) => a.at - b.at);
  }

  get enabled(): boolean {
    return this.retentionMs > 0;
  }

  actor(named: string | undefined): string {
    return named ?? this.defaultActor;
  }

  record(events: TraceEvent[]): void {
    if (!this.enabled || events.length === 0) return;
    // Best effort by design: observability must never fail or slow down a send.
    const write = this.backend.appendTrace(events).catch(() => undefined);
    this.pending.add(write);
    void write.finally(() => this.pending.delete(write));
  }

  /** Waits for the writes under way, at most `timeoutMs` (a backend that does not answer must not stall a close). */
  async flush(timeoutMs: number): Promise<void> {
    if (this.pending.size === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all([...this.pending]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, timeoutMs);
      }),
    ]);
    clearTimeout(timer);
  }

  /** One `acked` event per lease. */
  acked(leases: readonly { id: MessageId; agent: QueueName }[], actorName: string | undefined): void {
    const actor = this.actor(actorName);
    const at = Date.now();
    this.record(
      leases.map((lease) => ({ messageId: lease.id, kind: "acked", at, actor, agent: lease.agent })),
    );
  }

  /** The events of applied writes: accepted and enqueued (or duplicate, dead-lettered), or acked. */
  writes(ops: WriteOp[], outcomes: WriteOutcome[], actorName: string | undefined, topic?: Topic): void {
    if (!this.enabled) return;
    const actor = this.actor(actorName);
    const at = Date.now();
    const events: TraceEvent[] = [];
    ops.forEach((op, index) => {
      const outcome = outcomes[index];
      if (op.kind === "ack") {
        events.push({ messageId: op.lease.id, kind: "acked", at, actor, agent: op.lease.agent });
        return;
      }
      const base = {
        messageId: op.message.id,
        at,
        actor,
        agent: op.agent,
        ...(topic === undefined ? {} : { topic }),
        ...(op.message.correlationid === undefined ? {} : { correlationId: op.message.correlationid }),
      };
      if (outcome?.duplicate === true) {
        events.push({ ...base, kind: "duplicate" });
        return;
      }
      // The OpenTelemetry trace id (the traceparent's second field) links the hop trace to the spans.
      const traceId = op.message.traceparent?.split("-")[1];
      events.push(
        { ...base, kind: "accepted", ...(traceId === undefined ? {} : { traceId }) },
        { ...base, kind: "enqueued" },
      );
      if (outcome?.deadLettered !== undefined)
        events.push({ ...base, kind: "dead-lettered", reason: outcome.deadLettered });
    });
    this.record(events);
  }

  /** The events of one lease step: leases that expired, messages that died of it, and the new leases. */
  lease(queue: QueueName, batch: LeaseBatch, actorName: string | undefined): void {
    if (!this.enabled) return;
    const actor = this.actor(actorName);
    const at = Date.now();
    this.record([
      ...batch.expiredLeases.map(({ id, attempt }): TraceEvent => ({
        messageId: id,
        kind: "lease-expired",
        at,
        actor,
        agent: queue,
        attempt,
      })),
      ...batch.deadLettered.map(({ id, reason }): TraceEvent => ({
        messageId: id,
        kind: "dead-lettered",
        at,
        actor,
        agent: queue,
        reason,
      })),
      ...batch.deliveries.map(({ id, attempt }): TraceEvent => ({
        messageId: id,
        kind: "leased",
        at,
        actor,
        agent: queue,
        attempt,
      })),
    ]);
  }
}
