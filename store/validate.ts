import { describeIssue } from "../core/api/describe-issue.js";
import { type z } from "zod";
import { TransactionError, ValidationError } from "../core/errors.js";
import { transactionIdSchema, type TransactionId } from "../core/ids.js";
import {
  agentNameSchema,
  queueNameSchema,
  topicPatternSchema,
  topicSchema,
  type AgentName,
  type QueueName,
  type Topic,
  type TopicPattern,
} from "../core/names.js";

function check<S extends z.ZodType>(
  schema: S,
  value: unknown,
  field: string,
  code: "INVALID_ADDRESS" | "INVALID_ARGUMENT",
): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  // The value is shown too (`to "Bad_Name" must be ...`): a store caller usually passes it from afar.
  const shown = typeof value === "string" ? JSON.stringify(value) : String(value);
  const { detail } = describeIssue(result.error.issues[0]);
  throw new ValidationError(`${field} ${shown} ${detail}`, { code, field, cause: result.error });
}

export function toAgentName(value: unknown, field = "agent"): AgentName {
  return check(agentNameSchema, value, field, "INVALID_ADDRESS");
}

/** An agent's queue or a remote domain's outbox (`bmn.out.<domain>`): what the store takes as a queue. */
export function toQueueName(value: unknown, field = "agent"): QueueName {
  return check(queueNameSchema, value, field, "INVALID_ADDRESS");
}

export function toTopic(value: unknown, field = "topic"): Topic {
  return check(topicSchema, value, field, "INVALID_ARGUMENT");
}

export function toTopicPattern(value: unknown, field = "pattern"): TopicPattern {
  return check(topicPatternSchema, value, field, "INVALID_ARGUMENT");
}

/** A whole number of at least `min`; `undefined` means "use the default". */
export function toCount(value: unknown, field: string, min = 0): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < min) {
    throw new ValidationError(
      `${field} must be a whole number of at least ${min}, got ${typeof value === "number" ? String(value) : typeof value}`,
      {
        code: "INVALID_ARGUMENT",
        field,
      },
    );
  }
  return value;
}

export function toTransactionId(value: unknown): TransactionId {
  const result = transactionIdSchema.safeParse(value);
  if (!result.success) throw new TransactionError("TX_NOT_FOUND", `transaction ${String(value)} is unknown`);
  return result.data;
}
