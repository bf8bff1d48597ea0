import { TRACE_EVENT_KINDS } from "../../core/api/trace-api.js";
import type { MessageId } from "../../core/ids.js";
import type { QueueName, Topic } from "../../core/names.js";

/** Trace: what happened to a message (or to every message of a correlation id), kept for traceRetentionMs. */
export interface TraceStore {
  traceOf(messageId: string): Promise<TraceEvent[]>;
  traceByCorrelation(correlationId: string): Promise<TraceEvent[]>;
}

/** The kinds are part of the HTTP contract (core/api), which the store's trace follows. */
export { TRACE_EVENT_KINDS };
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
  /** On `accepted`: the OpenTelemetry trace id of the message's `traceparent`, when it has one. */
  traceId?: string;
}
