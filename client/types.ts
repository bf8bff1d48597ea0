import type { z } from "zod";
import type { DeadLetterReason } from "../core/dead-letter.js";
import type { HealthBody, InfoBody, ReadyBody } from "../core/api/health-api.js";
import type { DeadLetterBody, DeadLetterMoveBody, attemptRecordSchema } from "../core/api/dlq-api.js";
import type { DeliveryBody, ackManyResponseSchema } from "../core/api/delivery-api.js";
import type {
  MessageInputBody,
  MessageOut,
  SendResultBody,
  messageAttributesSchema,
} from "../core/api/message-api.js";
import type {
  AgentRecordBody,
  QueuedMessageBody,
  QueueStatsBody,
  SubscriptionBody,
  QUEUED_MESSAGE_STATES,
} from "../core/api/registry-api.js";
import type { AnalyticsAnswerBody } from "../core/api/stats-api.js";
import type { TraceEventBody, traceResponseSchema } from "../core/api/trace-api.js";

// What the sidecar answers: the types of core/api's response schemas, the same ones the sidecar serialises with.

/** A CloudEvents 1.0 message as the sidecar delivers it. */
export type Message = MessageOut;
export type SendResult = SendResultBody;
export type Delivery = DeliveryBody;
/** What `ackMany` answers: the lease ids acked, and those not acked with why. */
export type AckManyResult = z.infer<typeof ackManyResponseSchema>;
export type Subscription = SubscriptionBody;
export type AgentRecord = AgentRecordBody;
export type QueueStats = QueueStatsBody;
/** A message as it sits in a queue, from `browse`. */
export type QueuedMessage = QueuedMessageBody;
export type QueuedMessageState = (typeof QUEUED_MESSAGE_STATES)[number];
export interface QueuedMessagePage {
  messages: QueuedMessage[];
  nextCursor?: string;
}
export type AttemptRecord = z.infer<typeof attemptRecordSchema>;
export type DeadLetter = DeadLetterBody;
/** A dead letter a dry run selected, and the queue a replay would put it in (`to`). */
export type DeadLetterMove = DeadLetterMoveBody;
/** What a dry-run replay or purge answers: how many letters it would take, and the first 1000 of them. */
export interface DeadLetterDryRun {
  matched: number;
  letters: DeadLetterMove[];
}
export type TraceEvent = TraceEventBody;
export type Trace = z.infer<typeof traceResponseSchema>;
export type HealthStatus = HealthBody;
export type ReadyStatus = ReadyBody;
export type SidecarInfo = InfoBody;
/** The answer of an analytics query: one object per row, columns depending on the query. */
export type AnalyticsAnswer = AnalyticsAnswerBody;

/**
 * The CloudEvents attributes a sender may set. Everything is optional except `type`; the sidecar fills in
 * `specversion`, `id`, `source` and `time` when they are missing. A message needs `to` or `topic`.
 */
/**
 * The CloudEvents attributes a sender may set. The sidecar fills in `specversion`, `id`, `source` and `time` when
 * they are missing. A message needs `to` or `topic`.
 */
export type MessageAttributes = z.input<typeof messageAttributesSchema>;

/** A message to send. Extra CloudEvents extension attributes (lowercase alphanumerics) pass through. */
export type MessageInput = MessageInputBody;

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
  /** Dead-letter now with this stable reason instead of `rejected` (e.g. `invalid`, `too-large`). */
  deadLetterReason?: DeadLetterReason | undefined;
}

export interface RegisterOptions {
  agent?: string | undefined;
  capabilities?: string[] | undefined;
  metadata?: Record<string, string> | undefined;
  ttlSeconds?: number | undefined;
}

export { DEAD_LETTER_REASONS, type DeadLetterReason } from "../core/dead-letter.js";

export interface DeadLetterFilter {
  agent?: string | undefined;
  reason?: string | undefined;
  limit?: number | undefined;
}

export interface DeadLetterSelection extends DeadLetterFilter {
  ids?: string[] | undefined;
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
