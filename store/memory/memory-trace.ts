import type { TraceBackend } from "../base/trace-recorder.js";
import type { TraceEvent } from "../store.js";

/** Trace events in memory: per message and per correlation id, each expiring after the retention. */
export class MemoryTrace implements TraceBackend {
  private readonly traces = new Map<string, { events: TraceEvent[]; expiresAt: number }>();
  private readonly correlations = new Map<string, { ids: Set<string>; expiresAt: number }>();
  private nextTracePruneAt = 0;

  constructor(private readonly retentionMs: number) {}

  appendTrace(events: TraceEvent[]): Promise<void> {
    const now = Date.now();
    const expiresAt = now + this.retentionMs;
    this.pruneTraces(now);
    for (const event of events) {
      const known = this.traces.get(event.messageId);
      // One that expired but was not pruned yet starts afresh.
      const trace = known !== undefined && known.expiresAt > now ? known : { events: [], expiresAt };
      trace.events.push(event);
      trace.expiresAt = expiresAt;
      this.traces.set(event.messageId, trace);
      if (event.correlationId !== undefined) {
        const knownCorrelation = this.correlations.get(event.correlationId);
        const correlation =
          knownCorrelation !== undefined && knownCorrelation.expiresAt > now
            ? knownCorrelation
            : { ids: new Set<string>(), expiresAt };
        correlation.ids.add(event.messageId);
        correlation.expiresAt = expiresAt;
        this.correlations.set(event.correlationId, correlation);
      }
    }
    return Promise.resolve();
  }

  /**
   * Drops expired traces at most once per tenth of the retention, so each operation costs O(1) amortised; reads
   * skip what expired since.
   */
  private pruneTraces(now: number): void {
    if (now < this.nextTracePruneAt) return;
    this.nextTracePruneAt = now + Math.max(1, Math.floor(this.retentionMs / 10));
    for (const [id, trace] of this.traces) if (trace.expiresAt <= now) this.traces.delete(id);
    for (const [id, correlation] of this.correlations)
      if (correlation.expiresAt <= now) this.correlations.delete(id);
  }

  readTrace(id: string): Promise<TraceEvent[]> {
    const trace = this.traces.get(id);
    return Promise.resolve(trace === undefined || trace.expiresAt <= Date.now() ? [] : [...trace.events]);
  }

  readCorrelation(correlationId: string): Promise<string[]> {
    const correlation = this.correlations.get(correlationId);
    return Promise.resolve(
      correlation === undefined || correlation.expiresAt <= Date.now() ? [] : [...correlation.ids],
    );
  }
}
