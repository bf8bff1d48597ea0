import { z } from "zod";
import { validationErrorOf } from "./api/describe-issue.js";
import { TooLargeError, ValidationError } from "./errors.js";
import { messageIdSchema, newMessageId } from "./ids.js";
import { agentAddressSchema, topicSchema } from "./names.js";
import { CONTROL_CHARACTER_ERROR, hasNoControlCharacters } from "./text.js";

export const SPEC_VERSION = "1.0";
export const DEFAULT_PRIORITY = 4;
export const DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;

/** CloudEvents attribute names defined by the spec itself or by BMN; anything else is a free extension. */
const CORE_ATTRIBUTES = [
  "specversion",
  "id",
  "source",
  "type",
  "time",
  "datacontenttype",
  "dataschema",
  "subject",
  "data",
  "data_base64",
] as const;
const BMN_EXTENSIONS = [
  "to",
  "from",
  "topic",
  "priority",
  "correlationid",
  "replyto",
  "traceparent",
  "tracestate",
  "expiresat",
  "notbefore",
  "dedupekey",
] as const;
const KNOWN_ATTRIBUTES = new Set<string>([...CORE_ATTRIBUTES, ...BMN_EXTENSIONS]);

const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
const EXTENSION_NAME_ERROR = "is not a valid CloudEvents extension name (1-20 lowercase letters or digits)";

/** How deeply arrays and objects may nest inside `data`; far deeper input would overflow JSON.stringify's stack. */
export const MAX_DATA_DEPTH = 256;

/**
 * Why `value` is not plain JSON, or undefined when it is. Unlike `z.json()` it does not copy the value, so an
 * own `__proto__` key (which JSON.parse creates as an ordinary property) survives instead of being dropped,
 * and it walks iteratively with a depth limit, so deep nesting is a validation error, not a stack overflow.
 */
function jsonDataIssue(value: unknown): string | undefined {
  const pending: [unknown, number][] = [[value, 0]];
  for (let next = pending.pop(); next !== undefined; next = pending.pop()) {
    const [item, depth] = next;
    if (item === null || typeof item === "string" || typeof item === "boolean") continue;
    if (typeof item === "number") {
      if (Number.isFinite(item)) continue;
      return "must not contain NaN or Infinity";
    }
    if (typeof item !== "object") return "must be JSON: null, booleans, numbers, strings, arrays and objects";
    if (depth >= MAX_DATA_DEPTH) return `must not nest arrays and objects more than ${MAX_DATA_DEPTH} deep`;
    if (Array.isArray(item)) {
      for (const element of item as unknown[]) pending.push([element, depth + 1]);
      continue;
    }
    const prototype: unknown = Object.getPrototypeOf(item);
    if (prototype !== Object.prototype && prototype !== null) {
      return "must be JSON: null, booleans, numbers, strings, arrays and objects";
    }
    for (const element of Object.values(item)) pending.push([element, depth + 1]);
  }
  return undefined;
}

const jsonData = z.custom<z.core.util.JSONType>().superRefine((value, ctx) => {
  const issue = jsonDataIssue(value);
  if (issue !== undefined) ctx.addIssue({ code: "custom", message: issue });
});
// RFC 3339 allows a lowercase "t" and "z"; they are stored uppercased, as every other producer writes them.
const timestamp = z
  .string({ error: "must be an RFC 3339 timestamp" })
  .transform((text) => text.toUpperCase())
  .pipe(z.iso.datetime({ offset: true, error: "must be an RFC 3339 timestamp" }));
const nonEmpty = (max: number) =>
  z
    .string()
    .min(1, { error: "must not be empty" })
    .max(max, { error: `must be at most ${max} characters` })
    .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_ERROR });

export const messageSchema = z
  .looseObject({
    specversion: z.literal(SPEC_VERSION, { error: `must be "${SPEC_VERSION}"` }),
    id: messageIdSchema,
    source: nonEmpty(2048),
    type: nonEmpty(256),
    time: timestamp.optional(),
    datacontenttype: nonEmpty(256).optional(),
    dataschema: nonEmpty(2048).optional(),
    subject: nonEmpty(1024).optional(),
    data: jsonData.optional(),
    data_base64: z.base64({ error: "must be base64" }).optional(),
    to: agentAddressSchema.optional(),
    from: agentAddressSchema.optional(),
    topic: topicSchema.optional(),
    priority: z
      .number({ error: "must be an integer from 0 to 9" })
      .int({ error: "must be an integer from 0 to 9" })
      .min(0, { error: "must be an integer from 0 to 9" })
      .max(9, { error: "must be an integer from 0 to 9" })
      .optional(),
    correlationid: nonEmpty(256).optional(),
    replyto: agentAddressSchema.optional(),
    traceparent: z
      .string()
      .regex(/^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/, {
        error: "must be a W3C traceparent (version-traceid-parentid-flags)",
      })
      .optional(),
    tracestate: z
      .string()
      .max(512)
      .refine(hasNoControlCharacters, { error: CONTROL_CHARACTER_ERROR })
      .optional(),
    expiresat: timestamp.optional(),
    notbefore: timestamp.optional(),
    dedupekey: z
      .string()
      .regex(/^[A-Za-z0-9._~:/-]{1,256}$/, {
        error: "must be 1-256 characters of letters, digits, '.', '_', '~', ':', '/' or '-'",
      })
      .optional(),
  })
  .superRefine((event, ctx) => {
    if (event.data !== undefined && event.data_base64 !== undefined) {
      ctx.addIssue({ code: "custom", path: ["data_base64"], message: "must not be set together with data" });
    }
    for (const [key, value] of Object.entries(event)) {
      if (KNOWN_ATTRIBUTES.has(key)) continue;
      if (!EXTENSION_NAME.test(key)) {
        ctx.addIssue({ code: "custom", path: [key], message: EXTENSION_NAME_ERROR });
      } else if (
        !["string", "number", "boolean"].includes(typeof value) ||
        (typeof value === "number" && !Number.isFinite(value))
      ) {
        ctx.addIssue({ code: "custom", path: [key], message: "must be a string, number or boolean" });
      } else if (typeof value === "string" && !hasNoControlCharacters(value)) {
        ctx.addIssue({ code: "custom", path: [key], message: CONTROL_CHARACTER_ERROR });
      }
    }
  });

/** A validated CloudEvents 1.0 event carrying BMN's extension attributes. */
export type Message = z.infer<typeof messageSchema>;

/** What a sender may omit: BMN fills in `specversion`, `id`, `source` and `time`. */
export type MessageDraft = Partial<Pick<Message, "specversion" | "id" | "source" | "time">> &
  Omit<Message, "specversion" | "id" | "source" | "time">;

export interface ParseOptions {
  maxBytes?: number;
}

/** Validates an already-decoded object as a message. */
export function toMessage(value: unknown, options: ParseOptions = {}): Message {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new ValidationError("message must be a JSON object");
  }
  // zod copies attributes by assignment, which turns an own `__proto__` key into a prototype change: the
  // attribute would vanish unvalidated. It is not a valid extension name, so reject it here.
  if (Object.hasOwn(value, "__proto__")) {
    throw new ValidationError(`__proto__ ${EXTENSION_NAME_ERROR}`, { field: "__proto__" });
  }
  const result = messageSchema.safeParse(value);
  if (!result.success)
    throw validationErrorOf(result.error, { errorCode: "INVALID_MESSAGE", whole: "message" });
  checkSize(result.data, options.maxBytes);
  return result.data;
}

/** Parses the CloudEvents structured JSON form (the same bytes as `serializeMessage` writes). */
export function parseMessage(json: string | Uint8Array, options: ParseOptions = {}): Message {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const size = typeof json === "string" ? Buffer.byteLength(json) : json.byteLength;
  if (size > maxBytes) throw new TooLargeError(size, maxBytes);
  let value: unknown;
  try {
    value = JSON.parse(typeof json === "string" ? json : Buffer.from(json).toString("utf8"));
  } catch (cause) {
    throw new ValidationError("message is not valid JSON", { cause });
  }
  return toMessage(value, { maxBytes });
}

export function serializeMessage(message: Message): string {
  return JSON.stringify(message);
}

/** Completes a draft with generated id, default source and the current time, then validates it. */
export function createMessage(
  draft: MessageDraft | Record<string, unknown>,
  options: ParseOptions & { source?: string } = {},
): Message {
  const filled: Record<string, unknown> = {
    specversion: SPEC_VERSION,
    id: newMessageId(),
    source: options.source ?? "bmn://local",
    time: new Date().toISOString(),
    ...draft,
  };
  return toMessage(filled, options);
}

function checkSize(message: Message, maxBytes = DEFAULT_MAX_MESSAGE_BYTES): void {
  const size = Buffer.byteLength(serializeMessage(message));
  if (size > maxBytes) throw new TooLargeError(size, maxBytes);
}

export function messagePriority(message: Message): number {
  return message.priority ?? DEFAULT_PRIORITY;
}

/** The key dedupe works on: `dedupekey` when the sender gave one, else the id. */
export function dedupeKeyOf(message: Message): string {
  return message.dedupekey ?? message.id;
}

export function timeOf(timestampText: string | undefined): number | undefined {
  return timestampText === undefined ? undefined : Date.parse(timestampText);
}

/** Binary payloads travel as `data_base64`. */
export function withBinaryData(draft: MessageDraft, bytes: Uint8Array): MessageDraft {
  const { data: _ignored, ...rest } = draft;
  return { ...rest, data_base64: Buffer.from(bytes).toString("base64") };
}

export function binaryDataOf(message: Message): Buffer | undefined {
  return message.data_base64 === undefined ? undefined : Buffer.from(message.data_base64, "base64");
}
