import { z } from "zod";

export const ANALYTICS_QUERY_NAMES = [
  "throughput",
  "latency",
  "deadLetters",
  "topTalkers",
  "stuckLeases",
] as const;

export const analyticsInfoResponseSchema = z.looseObject({
  domain: z.string(),
  dialect: z.string(),
  serverVersion: z.string(),
  queries: z.array(z.enum(ANALYTICS_QUERY_NAMES)).readonly(),
  readOnly: z.boolean(),
  tiflash: z.unknown(),
});

export const analyticsParamsSchema = z.object({ query: z.string() });

/**
 * The query string of `GET /v1/stats/:query`. The store checks it (from, to, bucket, agent, reason, limit,
 * olderThan; digits or ISO 8601 only), so here it is only described.
 */
export const analyticsQuerySchema = z.record(z.string(), z.string());

export const analyticsAnswerSchema = z.object({
  domain: z.string(),
  query: z.enum(ANALYTICS_QUERY_NAMES),
  /** One object per row; each value a string, number, boolean or null. */
  rows: z.array(z.record(z.string(), z.union([z.string(), z.number(), z.boolean(), z.null()]))),
  /** latency only: more samples matched than the sidecar reads; narrow the window. */
  truncated: z.boolean().optional(),
});
export type AnalyticsAnswerBody = z.infer<typeof analyticsAnswerSchema>;
