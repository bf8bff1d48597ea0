import type { z } from "zod";
import { ValidationError, type ErrorCode } from "../errors.js";

/** What the API answers about one bad input: a stable code, the offending field (if any) and a sentence. */
export interface IssueDescription {
  errorCode: ErrorCode;
  field?: string;
  message: string;
  /** What is wrong, without the field's name (`must be a DNS label`), for callers that print the field apart. */
  detail: string;
}

export interface DescribeOptions {
  /** The path of the input within something larger, e.g. `messages.3` for one message of a batch. */
  prefix?: string;
  /** The code to answer; INVALID_ARGUMENT unless the caller knows better (INVALID_MESSAGE for messages). */
  errorCode?: ErrorCode;
  /** What to call the input when the issue is about the whole of it. */
  whole?: string;
}

/**
 * The one place a zod issue becomes `{errorCode, field, message}`. An unknown key names that key, so a caller
 * who misspells `ttlSecond` is told `ttlSecond`, not the object holding it.
 */
export function describeIssue(
  issue: z.core.$ZodIssue | undefined,
  options: DescribeOptions = {},
): IssueDescription {
  const errorCode = options.errorCode ?? "INVALID_ARGUMENT";
  if (issue === undefined)
    return { errorCode, message: `${options.whole ?? "input"} is invalid`, detail: "is invalid" };
  const path = issue.path.map(String);
  if (issue.code === "unrecognized_keys" && issue.keys[0] !== undefined) path.push(issue.keys[0]);
  const field = [options.prefix ?? "", ...path].filter((part) => part !== "").join(".");
  const detail = issue.code === "unrecognized_keys" ? "is not a known field" : issue.message;
  return field === ""
    ? { errorCode, message: `${options.whole ?? "input"} ${detail}`, detail }
    : { errorCode, field, message: `${field} ${detail}`, detail };
}

/** The first issue of a failed parse as a ValidationError (400). */
export function validationErrorOf(
  error: z.ZodError,
  options: DescribeOptions & { errorCode?: "INVALID_MESSAGE" | "INVALID_ARGUMENT" | "INVALID_ADDRESS" } = {},
): ValidationError {
  const { errorCode, field, message } = describeIssue(error.issues[0], options);
  return new ValidationError(message, {
    code: errorCode as "INVALID_MESSAGE" | "INVALID_ARGUMENT" | "INVALID_ADDRESS",
    field,
    cause: error,
  });
}
