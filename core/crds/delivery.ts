import { z } from "zod";

/**
 * Exponential backoff between attempts: `baseMs` doubles per attempt up to `maxMs`, with jitter.
 * `baseMs <= maxMs` is checked here and by the apiserver (CEL).
 */
export const backoffSchema = z
  .object({
    baseMs: z.number().int().min(1).max(3_600_000).default(1_000).describe("First delay, in milliseconds."),
    maxMs: z
      .number()
      .int()
      .min(1)
      .max(86_400_000)
      .default(300_000)
      .describe("Longest delay, in milliseconds."),
  })
  .strict()
  .refine((value) => value.baseMs <= value.maxMs, {
    error: "must not be greater than maxMs",
    path: ["baseMs"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.baseMs) || !has(self.maxMs) || self.baseMs <= self.maxMs",
        message: "baseMs must not be greater than maxMs",
        fieldPath: ".baseMs",
        reason: "FieldValueInvalid",
      },
    ],
  });
export type Backoff = z.infer<typeof backoffSchema>;

/**
 * A domain's delivery defaults, in the units people write in manifests (seconds). The defaults equal the
 * store's own (`DEFAULT_DELIVERY_POLICY` in store/store.ts; a unit test keeps them equal).
 */
export const deliveryDefaultsSchema = z
  .object({
    /** Attempts before a message is dead-lettered with reason `max-attempts`. */
    maxAttempts: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(5)
      .describe("Attempts before a message is dead-lettered with reason max-attempts."),
    backoff: backoffSchema.prefault({}).describe("Delay between redeliveries (doubles per attempt, with jitter)."),
    /** How long a delivery is leased to a consumer before it is redelivered. */
    leaseSeconds: z
      .number()
      .int()
      .min(1)
      .max(43_200)
      .default(30)
      .describe("How long a delivery is leased to a consumer before it is redelivered."),
    /** Default time to live of a message without `expiresat`; unset means messages do not expire. */
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .optional()
      .describe("Default time to live of a message without expiresat; unset: messages do not expire."),
    /** A repeated `id` or `dedupekey` within this window is accepted once. */
    dedupeWindowSeconds: z
      .number()
      .int()
      .min(0)
      .max(604_800)
      .default(600)
      .describe("A repeated id or dedupekey within this window is accepted once."),
  })
  .strict();
export type DeliveryDefaults = z.infer<typeof deliveryDefaultsSchema>;
