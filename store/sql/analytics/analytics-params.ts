import { validationErrorOf } from "../../../core/api/describe-issue.js";
import { z } from "zod";
import { ANALYTICS_QUERY_NAMES } from "../../../core/api/stats-api.js";
import { DEAD_LETTER_REASONS } from "../../../core/dead-letter.js";
import { ValidationError } from "../../../core/errors.js";
import { agentNameSchema } from "../../../core/names.js";

/** The named queries, in the order they are listed (part of the HTTP contract, core/api). */
export { ANALYTICS_QUERY_NAMES as ANALYTICS_QUERIES } from "../../../core/api/stats-api.js";
export type AnalyticsQueryName = (typeof ANALYTICS_QUERY_NAMES)[number];

/** Bucket sizes in minutes that the time-bucketed queries accept. */
export const BUCKET_MINUTES = [1, 5, 15, 60, 1_440] as const;
export const MAX_LIMIT = 1_000;
export const DEFAULT_LIMIT = 100;
/** The window when `from` is not given: the hour before `to`. */
export const DEFAULT_WINDOW_MS = 3_600_000;
/** `stuckLeases` reports leases held longer than this (seconds) when `olderThan` is not given. */
export const DEFAULT_OLDER_THAN_S = 300;
const MAX_OLDER_THAN_S = 30 * 86_400;

export function isAnalyticsQuery(name: string): name is AnalyticsQueryName {
  return (ANALYTICS_QUERY_NAMES as readonly string[]).includes(name);
}

const digits = /^\d{1,15}$/;

/** Epoch milliseconds, as a number or digits, or an ISO 8601 date-time. */
const instant = z.union([z.number(), z.string()]).transform((value, ctx): number => {
  const ms =
    typeof value === "number"
      ? value
      : digits.test(value)
        ? Number(value)
        : /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value)
          ? Date.parse(value)
          : Number.NaN;
  if (!Number.isSafeInteger(ms) || ms < 0) {
    ctx.addIssue({ code: "custom", message: "must be epoch milliseconds or an ISO 8601 date-time" });
    return z.NEVER;
  }
  return ms;
});

/** A whole number given as a number or as digits only (query strings are text). */
function wholeNumber(min: number, max: number, what: string) {
  return z.union([z.number(), z.string()]).transform((value, ctx): number => {
    const n = typeof value === "number" ? value : digits.test(value) ? Number(value) : Number.NaN;
    if (!Number.isSafeInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: "custom", message: `must be ${what}` });
      return z.NEVER;
    }
    return n;
  });
}

const bucket = wholeNumber(1, 1_440, `one of ${BUCKET_MINUTES.join(", ")} (minutes)`).refine(
  (n) => (BUCKET_MINUTES as readonly number[]).includes(n),
  { error: `must be one of ${BUCKET_MINUTES.join(", ")} (minutes)` },
);

/** The parameters every named query accepts; unknown parameters are refused. */
export const analyticsParamsSchema = z
  .object({
    from: instant.optional(),
    to: instant.optional(),
    bucket: bucket.optional(),
    agent: agentNameSchema.optional(),
    reason: z
      .enum(DEAD_LETTER_REASONS, { error: `must be one of ${DEAD_LETTER_REASONS.join(", ")}` })
      .optional(),
    limit: wholeNumber(1, MAX_LIMIT, `a whole number from 1 to ${MAX_LIMIT}`).optional(),
    olderThan: wholeNumber(
      1,
      MAX_OLDER_THAN_S,
      `a whole number of seconds from 1 to ${MAX_OLDER_THAN_S}`,
    ).optional(),
  })
  .strict();

export type AnalyticsParamsInput = z.input<typeof analyticsParamsSchema>;

/** Validated parameters with the defaults filled in. */
export interface AnalyticsParams {
  from: number;
  to: number;
  bucketMinutes: number;
  agent: string | null;
  reason: string | null;
  limit: number;
  olderThanS: number;
}

/** Validates raw parameters (a query string or an object); the error names the offending parameter. */
export function parseAnalyticsParams(raw: unknown, now = Date.now()): AnalyticsParams {
  const result = analyticsParamsSchema.safeParse(raw ?? {});
  if (!result.success) throw validationErrorOf(result.error, { whole: "parameters" });
  const params = result.data;
  const to = params.to ?? now;
  const from = params.from ?? to - DEFAULT_WINDOW_MS;
  if (from >= to) {
    throw new ValidationError("from must be before to", { code: "INVALID_ARGUMENT", field: "from" });
  }
  return {
    from,
    to,
    bucketMinutes: params.bucket ?? 1,
    agent: params.agent ?? null,
    reason: params.reason ?? null,
    limit: params.limit ?? DEFAULT_LIMIT,
    olderThanS: params.olderThan ?? DEFAULT_OLDER_THAN_S,
  };
}
