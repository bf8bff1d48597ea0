import { z } from "zod";
import { DEAD_LETTER_REASONS } from "../dead-letter.js";
import { decimalNumber } from "./common.js";

/** The CloudEvents attributes a sender may set, besides `type` and the data. */
export const messageAttributesSchema = z.object({
  /** An agent address: `name`, or `name@domain`. */
  to: z.string().optional(),
  /** A dot-separated topic; the message fans out to every agent subscribed to a matching pattern. */
  topic: z.string().optional(),
  id: z.string().optional(),
  source: z.string().optional(),
  time: z.string().optional(),
  specversion: z.literal("1.0").optional(),
  datacontenttype: z.string().optional(),
  dataschema: z.string().optional(),
  subject: z.string().optional(),
  from: z.string().optional(),
  /** 0-9, higher first. The sidecar's default is 4. */
  priority: z.number().int().min(0).max(9).optional(),
  correlationid: z.string().optional(),
  replyto: z.string().optional(),
  traceparent: z.string().optional(),
  tracestate: z.string().optional(),
  /** RFC 3339; past this the message is dead-lettered as `expired` instead of delivered. */
  expiresat: z.string().optional(),
  /** RFC 3339; the message is not delivered before this. */
  notbefore: z.string().optional(),
  dedupekey: z.string().optional(),
});

/**
 * A message as the API answers it. Stored messages were validated on the way in, so answers are described
 * (and serialised) with this light shape instead of validating every message again.
 */
export const messageOutSchema = messageAttributesSchema
  .extend({
    specversion: z.literal("1.0"),
    id: z.string(),
    source: z.string(),
    type: z.string(),
    data: z.unknown().optional(),
    data_base64: z.string().optional(),
  })
  .loose()
  .meta({ id: "Message", description: "A CloudEvents 1.0 event with BMN's extension attributes." });
export type MessageOut = z.infer<typeof messageOutSchema>;

/**
 * What a sender posts: a CloudEvent whose `specversion`, `id`, `source` and `time` BMN fills in when missing.
 * Documents the body of POST /v1/messages; the route validates it with core/envelope's `messageSchema` after
 * filling in, and also takes binary mode (`ce-*` headers, the body as data).
 */
export const messageInputSchema = messageOutSchema
  .partial({ specversion: true, id: true, source: true })
  .meta({
    id: "MessageInput",
    description: "A CloudEvent to send; BMN fills in specversion, id, source and time.",
  });
export type MessageInputBody = z.input<typeof messageInputSchema>;

export const sendResultSchema = z
  .object({
    id: z.string(),
    duplicate: z.boolean(),
    /** Set for topic publishes: the agents that got the message. */
    recipients: z.array(z.string()).optional(),
    deadLettered: z.enum(DEAD_LETTER_REASONS).optional(),
  })
  .meta({ id: "SendResult" });
export type SendResultBody = z.infer<typeof sendResultSchema>;

export const MAX_BATCH = 1_000;

export const batchBodySchema = z.object({
  messages: z
    .array(z.unknown())
    .min(1)
    .max(MAX_BATCH)
    .meta({ description: "Messages, as for POST /v1/messages" }),
});
export const batchResponseSchema = z.object({ results: z.array(sendResultSchema) });

export const requestQuerySchema = z.strictObject({
  timeout: decimalNumber.pipe(z.number().min(0.001).max(300)).optional(),
});
export const replyResponseSchema = z.object({ reply: messageOutSchema });
