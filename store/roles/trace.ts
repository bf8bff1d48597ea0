import type { MessageId } from "../../core/ids.js";
import type { QueueName, Topic } from "../../core/names.js";

/** Trace: what happened to a message (or to every message of a correlation id), kept for traceRetentionMs. */
export interface TraceStore {
  traceOf(messageId: string): Promise<TraceEvent[]>;
  traceByCorrelation(correlationId: string): Promise<TraceEvent[]>;
}

export const TRACE_EVENT_KINDS = [
  "accepted",
  "duplicate",
  "enqueued",
  "leased",
  "acked",
  "nacked",
  "lease-expired",
  "dead-lettered",
  "replayed",
  "purged",
] as const;
export type TraceEventKind = (typeof TRACE_EVENT_KINDS)[number];

export interface TraceEvent {
  messageId: MessageId;
  kind: TraceEventKind;
  at: number;
  actor: string;
  agent?: QueueName;
  topic?: Topic;
  attempt?: number;
  reason?: string;
  correlationId?: string;
}
