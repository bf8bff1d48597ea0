import { z } from "zod";
import { count, epochMs, nextCursor, pageQuery, plainText } from "./common.js";
import { messageOutSchema } from "./message-api.js";

export const registerBodySchema = z.strictObject({
  capabilities: z.array(plainText).max(256).optional(),
  metadata: z.record(plainText.max(256), plainText.max(4_096)).optional(),
  ttlSeconds: z.number().min(1).max(86_400).optional(),
});
export const heartbeatBodySchema = z.strictObject({ ttlSeconds: z.number().min(1).max(86_400).optional() });

export const agentRecordSchema = z
  .object({
    name: z.string(),
    capabilities: z.array(z.string()),
    metadata: z.record(z.string(), z.string()),
    registeredAt: epochMs,
    lastSeenAt: epochMs,
    expiresAt: epochMs,
  })
  .meta({ id: "AgentRecord" });
export type AgentRecordBody = z.infer<typeof agentRecordSchema>;

export const capabilityQuerySchema = z.strictObject({ capability: z.string().optional() });
export const agentsResponseSchema = z.object({ agents: z.array(agentRecordSchema) });

export const subscriptionBodySchema = z.strictObject({ pattern: z.string() });
export const patternQuerySchema = z.strictObject({ pattern: z.string() });
export const subscriptionSchema = z
  .object({ agent: z.string(), pattern: z.string() })
  .meta({ id: "Subscription" });
export type SubscriptionBody = z.infer<typeof subscriptionSchema>;
export const subscriptionsResponseSchema = z.object({ subscriptions: z.array(subscriptionSchema) });

export const queueStatsSchema = z
  .object({
    agent: z.string(),
    depth: count,
    ready: count,
    delayed: count,
    inFlight: count,
    deadLettered: count,
  })
  .meta({ id: "QueueStats" });
export type QueueStatsBody = z.infer<typeof queueStatsSchema>;
export const queuesQuerySchema = z.strictObject(pageQuery);
export const queuesResponseSchema = z.object({ queues: z.array(queueStatsSchema), nextCursor });

export const QUEUED_MESSAGE_STATES = ["ready", "delayed", "leased"] as const;
export const queueParamsSchema = z.object({ queue: z.string() });
/** Browsing a queue: one state at a time (default `ready`), paged. */
export const queueMessagesQuerySchema = z.strictObject({
  state: z.enum(QUEUED_MESSAGE_STATES).optional(),
  ...pageQuery,
});
export const queuedMessageSchema = z
  .object({
    message: messageOutSchema,
    state: z.enum(QUEUED_MESSAGE_STATES),
    attempts: count,
    dueAt: epochMs.optional(),
  })
  .meta({ id: "QueuedMessage" });
export type QueuedMessageBody = z.infer<typeof queuedMessageSchema>;
export const queueMessagesResponseSchema = z.object({ messages: z.array(queuedMessageSchema), nextCursor });
