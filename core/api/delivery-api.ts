import { z } from "zod";
import { count, decimalInteger, decimalNumber, epochMs, plainText } from "./common.js";
import { DEAD_LETTER_REASONS } from "../dead-letter.js";
import { messageOutSchema } from "./message-api.js";

export const agentParamsSchema = z.object({
  agent: z.string().meta({ description: "An agent name: a lowercase DNS label" }),
});
export const leaseParamsSchema = z.object({ leaseId: z.string() });

export const receiveQuerySchema = z.strictObject({
  max: decimalInteger.pipe(z.number().int().min(1).max(1_000)).optional(),
  wait: decimalNumber.pipe(z.number().min(0)).optional(),
  lease: decimalNumber.pipe(z.number().min(0.001)).optional(),
});

export const deliverySchema = z
  .object({
    leaseId: z.string(),
    attempt: count,
    leaseExpiresAt: epochMs,
    message: messageOutSchema,
  })
  .meta({ id: "Delivery" });
export type DeliveryBody = z.infer<typeof deliverySchema>;

export const deliveriesResponseSchema = z.object({ deliveries: z.array(deliverySchema) });

export const nackBodySchema = z.strictObject({
  delayMs: z.number().int().min(0).optional(),
  reason: plainText.max(1_024).optional(),
  deadLetter: z.boolean().optional(),
  /** Dead-letter now with this stable reason (a bridge's `invalid` or `too-large`); implies `deadLetter`. */
  deadLetterReason: z.enum(DEAD_LETTER_REASONS).optional(),
});
export type NackBody = z.infer<typeof nackBodySchema>;

export const extendBodySchema = z.strictObject({ leaseMs: z.number().int().min(1) });
export const extendResponseSchema = z.object({ leaseExpiresAt: epochMs });

/** `GET /v1/agents/:agent/stream` (WebSocket). */
export const streamQuerySchema = z.strictObject({
  lease: decimalNumber.pipe(z.number().min(0.001)).optional(),
});
