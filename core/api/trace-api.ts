import { z } from "zod";
import { count, epochMs } from "./common.js";

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

export const traceEventSchema = z
  .object({
    messageId: z.string(),
    kind: z.enum(TRACE_EVENT_KINDS),
    at: epochMs,
    actor: z.string(),
    agent: z.string().optional(),
    topic: z.string().optional(),
    attempt: count.optional(),
    reason: z.string().optional(),
    correlationId: z.string().optional(),
    /** On `accepted`: the OpenTelemetry trace id of the message's `traceparent`. */
    traceId: z.string().optional(),
  })
  .meta({ id: "TraceEvent" });
export type TraceEventBody = z.infer<typeof traceEventSchema>;

export const messageIdParamsSchema = z.object({ id: z.string() });
export const traceResponseSchema = z.object({ id: z.string(), events: z.array(traceEventSchema) });
export const correlationQuerySchema = z.strictObject({ correlationId: z.string().min(1).max(256) });
export const tracesResponseSchema = z.object({ events: z.array(traceEventSchema) });
