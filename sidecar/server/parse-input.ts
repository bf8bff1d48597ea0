import type { z } from "zod";
import { validationErrorOf } from "../../core/api/describe-issue.js";

/** Validates input that no route schema covers (WebSocket frames); the error names the offending field. */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, whole = "input"): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (result.success) return result.data;
  throw validationErrorOf(result.error, { whole });
}
