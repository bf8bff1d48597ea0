import { z } from "zod";
import { ERROR_STATUS } from "../errors.js";
import { CONTROL_CHARACTER_ERROR, hasNoControlCharacters } from "../text.js";

const DECIMAL = /^[0-9]{1,15}(\.[0-9]{1,20})?$/;

/**
 * A number in a query string or header: plain decimal digits only. `Number()` would also take `0x10`, `1e3`,
 * `+5` and surrounding spaces, which no client means and which hide mistakes.
 */
export const decimalNumber = z
  .string()
  .regex(DECIMAL, { error: "must be a decimal number (digits, optionally a '.' and more digits)" })
  .transform(Number);

/** `decimalNumber` for whole numbers. */
export const decimalInteger = z
  .string()
  .regex(/^[0-9]{1,15}$/, { error: "must be a whole decimal number (digits only)" })
  .transform(Number);

/** Free text a caller sets and others read (reasons, metadata): no control characters. */
export const plainText = z.string().refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_ERROR });

export const errorCodeSchema = z.enum(Object.keys(ERROR_STATUS) as [keyof typeof ERROR_STATUS]);

/** The body of every 4xx and 5xx answer. */
export const errorBodySchema = z
  .object({
    errorCode: errorCodeSchema,
    message: z.string(),
    field: z.string().optional(),
  })
  .meta({ id: "Error" });
export type ErrorBody = z.infer<typeof errorBodySchema>;

/** Listing pages: what one page holds by default and at most (the store caps its work per page the same way). */
export const DEFAULT_PAGE_SIZE = 100;
export const MAX_PAGE_SIZE = 1_000;

/** `?limit=&cursor=` of a paginated list; `cursor` is the `nextCursor` of the page before, opaque. */
export const pageQuery = {
  limit: z
    .string()
    .regex(/^[0-9]{1,15}$/, { error: "must be a whole decimal number (digits only)" })
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_PAGE_SIZE))
    .optional(),
  cursor: z.string().min(1).max(1_024).optional(),
};
/** Where the next page starts; absent on the last page. */
export const nextCursor = z.string().optional();

export const count = z.number().int().min(0);
/** Epoch milliseconds. */
export const epochMs = z.number().int();

/** The optional `?tx=` of calls that can join a transaction. */
export const txQuerySchema = z.strictObject({ tx: z.string().min(1).max(64).optional() });

export const emptyResponse = z.null().meta({ description: "no body" });
