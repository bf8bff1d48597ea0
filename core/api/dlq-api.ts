import { z } from "zod";
import { DEAD_LETTER_REASONS } from "../dead-letter.js";
import { count, epochMs, nextCursor, pageQuery } from "./common.js";
import { messageOutSchema } from "./message-api.js";

const reason = z.enum(DEAD_LETTER_REASONS);
const MAX_SELECTION = 10_000;

export const dlqListQuerySchema = z.strictObject({
  agent: z.string().optional(),
  reason: reason.optional(),
  ...pageQuery,
});

const selection = {
  agent: z.string().optional(),
  reason: reason.optional(),
  limit: z.number().int().min(1).max(MAX_SELECTION).optional(),
  ids: z.array(z.string()).max(MAX_SELECTION).optional(),
};
export const dlqSelectBodySchema = z.strictObject(selection);
export const dlqReplayBodySchema = z.strictObject({ ...selection, to: z.string().optional() });
export type DeadLetterSelectionBody = z.infer<typeof dlqSelectBodySchema>;

export const dlqParamsSchema = z.object({ agent: z.string(), id: z.string() });

export const attemptRecordSchema = z.object({
  attempt: count,
  outcome: z.enum(["nacked", "lease-expired"]),
  at: epochMs,
  reason: z.string().optional(),
});

export const deadLetterSchema = z
  .object({
    agent: z.string(),
    message: messageOutSchema,
    reason,
    deadLetteredAt: epochMs,
    attempts: z.array(attemptRecordSchema),
    lastError: z.string().optional(),
  })
  .meta({ id: "DeadLetter" });
export type DeadLetterBody = z.infer<typeof deadLetterSchema>;

export const deadLettersResponseSchema = z.object({ deadLetters: z.array(deadLetterSchema), nextCursor });
export const replayedResponseSchema = z.object({ replayed: count });
export const purgedResponseSchema = z.object({ purged: count });
