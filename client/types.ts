import type { Message } from "../core/envelope.js";

export type { Message };

/**
 * The CloudEvents attributes a sender may set. Everything is optional except `type`; the sidecar fills in
 * `specversion`, `id`, `source` and `time` when they are missing. A message needs `to` or `topic`.
 */
export interface MessageAttributes {
  /** An agent address: `name`, or `name@domain`. */
  to?: string;
  /** A dot-separated topic; the message fans out to every agent subscribed to a matching pattern. */
  topic?: string;
  id?: string;
  source?: string;
  time?: string;
  specversion?: "1.0";
  datacontenttype?: string;
  dataschema?: string;
  subject?: string;
  from?: string;
  /** 0-9, higher first. The sidecar's default is 4. */
  priority?: number;
  correlationid?: string;
  replyto?: string;
  traceparent?: string;
  tracestate?: string;
  /** RFC 3339; past this the message is dead-lettered as `expired` instead of delivered. */
  expiresat?: string;
  /** RFC 3339; the message is not delivered before this. */
  notbefore?: string;
  dedupekey?: string;
}

/** A message to send. Extra CloudEvents extension attributes (lowercase alphanumerics) pass through. */
export interface MessageInput extends MessageAttributes {
  type: string;
  data?: unknown;
  data_base64?: string;
  [extension: string]: unknown;
}

export interface SendResult {
  id: string;
  duplicate: boolean;
  /** Set for topic publishes: the agents that got the message. */
  recipients?: string[];
}

export interface Delivery {
  leaseId: string;
  attempt: number;
  leaseExpiresAt: number;
  message: Message;
}

export interface ReceiveOptions {
  /** Whose queue; defaults to the client's `agent`. */
  agent?: string | undefined;
  /** Most deliveries to take at once (sidecar default 1). */
  max?: number | undefined;
  /** Long-poll: how long to wait for the first message (sidecar default 0). */
  waitSeconds?: number | undefined;
  /** How long each delivery stays leased before it is redelivered (sidecar default 30). */
  leaseSeconds?: number | undefined;
  signal?: AbortSignal | undefined;
}

export interface NackOptions {
  /** Redeliver no sooner than this; without it the sidecar applies its exponential backoff. */
  delayMs?: number | undefined;
  /** Recorded with the attempt and shown in the DLQ. */
  reason?: string | undefined;
  /** Dead-letter now (reason `rejected`) instead of retrying. */
  deadLetter?: boolean | undefined;
}

export interface Subscription {
  agent: string;
  pattern: string;
}

export interface AgentRecord {
  name: string;
  capabilities: string[];
  metadata: Record<string, string>;
  registeredAt: number;
  lastSeenAt: number;
  expiresAt: number;
}

export interface RegisterOptions {
  agent?: string | undefined;
  capabilities?: string[] | undefined;
  metadata?: Record<string, string> | undefined;
  ttlSeconds?: number | undefined;
}

export interface QueueStats {
  agent: string;
  depth: number;
  ready: number;
  delayed: number;
  inFlight: number;
  deadLettered: number;
}

export { DEAD_LETTER_REASONS, type DeadLetterReason } from "../core/dead-letter.js";
import type { DeadLetterReason } from "../core/dead-letter.js";

export interface AttemptRecord {
  attempt: number;
  outcome: string;
  at: number;
  reason?: string;
}

export interface DeadLetter {
  agent: string;
  message: Message;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  attempts: AttemptRecord[];
  lastError?: string;
}

export interface DeadLetterFilter {
  agent?: string | undefined;
  reason?: string | undefined;
  limit?: number | undefined;
}

export interface DeadLetterSelection extends DeadLetterFilter {
  ids?: string[] | undefined;
}

export interface TraceEvent {
  messageId: string;
  kind: string;
  at: number;
  actor: string;
  agent?: string;
  topic?: string;
  attempt?: number;
  reason?: string;
  correlationId?: string;
}

export interface Trace {
  id: string;
  events: TraceEvent[];
}

export interface HealthStatus {
  status: string;
}

export interface ReadyStatus {
  status: string;
  store?: string;
}

export interface SidecarInfo {
  domain: string;
  store: string;
  durable: boolean;
  version: string;
}

/** One HTTP exchange, reported to `onHttp` (the CLI's `--verbose` prints these). */
export interface HttpEvent {
  method: string;
  url: string;
  /** Absent while the request is on its way, and when it failed before an answer. */
  status?: number;
  durationMs?: number;
  /** Bytes of the request body. */
  requestBytes?: number;
  error?: string;
}

/** Parameters of an analytics query (`GET /v1/stats/:query`); times are epoch ms or ISO 8601 date-times. */
export interface AnalyticsParams {
  from?: number | string | undefined;
  to?: number | string | undefined;
  /** Bucket size in minutes: 1, 5, 15, 60 or 1440. */
  bucket?: number | undefined;
  agent?: string | undefined;
  reason?: string | undefined;
  /** At most this many rows (1-1000, default 100). */
  limit?: number | undefined;
  /** stuckLeases: leases held longer than this many seconds (default 300). */
  olderThan?: number | undefined;
}

/** The answer of an analytics query: one object per row, columns depending on the query. */
export interface AnalyticsAnswer {
  query: string;
  domain: string;
  rows: Record<string, string | number | boolean | null>[];
  /** latency only: more samples matched than the sidecar reads; narrow the window. */
  truncated?: boolean;
}
