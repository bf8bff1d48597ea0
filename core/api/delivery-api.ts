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

/** `POST /v1/deliveries:ack`: settle many deliveries in one request (bounded like a batch send). */
export const ackManyBodySchema = z.strictObject({
  leaseIds: z.array(z.string()).min(1).max(1_000).meta({ description: "Lease ids to ack, 1 to 1000" }),
});

export const ackManyResponseSchema = z
  .object({
    acked: z.array(z.string()).meta({ description: "The lease ids acked, in the order given" }),
    failed: z
      .array(
        z.object({
          leaseId: z.string(),
          code: z.enum(["LEASE_NOT_FOUND", "LEASE_EXPIRED"]),
        }),
      )
      .meta({
        description: "The lease ids not acked, in the order given, with the code a single ack would answer",
      }),
  })
  .meta({ id: "AckManyResult" });

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
