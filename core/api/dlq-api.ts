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
/** `dryRun: true` changes nothing and answers what the call would take (`matched`, `letters`). */
const dryRun = z.boolean().optional();
export const dlqSelectBodySchema = z.strictObject({ ...selection, dryRun });
export const dlqReplayBodySchema = z.strictObject({ ...selection, to: z.string().optional(), dryRun });
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
/** One letter a dry run selected: where it is, and where a replay would queue it (`to`). */
export const deadLetterMoveSchema = z
  .object({ agent: z.string(), id: z.string(), reason, deadLetteredAt: epochMs, to: z.string() })
  .meta({ id: "DeadLetterMove" });
export type DeadLetterMoveBody = z.infer<typeof deadLetterMoveSchema>;
/** Only in a dry run's answer: it counts every selected letter and lists the first 1000. */
const dryRunAnswer = {
  dryRun: z.literal(true).optional(),
  matched: count.optional(),
  letters: z.array(deadLetterMoveSchema).optional(),
};
export const replayedResponseSchema = z.object({ replayed: count, ...dryRunAnswer });
export const purgedResponseSchema = z.object({ purged: count, ...dryRunAnswer });
