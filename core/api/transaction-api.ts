import { z } from "zod";
import { decimalInteger } from "./common.js";

export const beginBodySchema = z.strictObject({
  timeoutMs: z.number().int().min(1).max(3_600_000).optional(),
});
export const beginResponseSchema = z.object({ id: z.string() });
export const txParamsSchema = z.object({ tx: z.string() });
export const savepointResponseSchema = z.object({ savepoint: z.number().int().min(0) });
export const savepointParamsSchema = z.object({
  tx: z.string(),
  savepoint: decimalInteger.pipe(z.number().int().min(0)),
});
