import type { z } from "zod";
import { ValidationError } from "../../core/errors.js";

/** Validates a query or body against its zod schema; the error names the offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix = ""): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = prefix + (issue?.path.map(String).join(".") ?? "");
  throw new ValidationError(`${field === "" ? "body" : field} ${issue?.message ?? "is invalid"}`, {
    code: "INVALID_ARGUMENT",
    ...(field === "" ? {} : { field }),
    cause: result.error,
  });
}
