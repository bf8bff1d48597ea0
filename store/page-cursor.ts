import { ValidationError } from "../core/errors.js";
import { queueNameSchema } from "../core/names.js";
import type { DeadLetterPosition } from "./backend-types.js";

/**
 * Opaque page cursors: base64url JSON, checked on the way back in, so a forged cursor is a 400 and never reaches
 * a backend query unchecked.
 */
export function encodeCursor(position: DeadLetterPosition): string {
  return Buffer.from(JSON.stringify([position.at, position.agent, position.id])).toString("base64url");
}

export function decodeCursor(cursor: unknown): DeadLetterPosition {
  const parsed = parseCursor(cursor);
  if (Array.isArray(parsed) && parsed.length === 3) {
    const [at, agent, id] = parsed as unknown[];
    const queue = queueNameSchema.safeParse(agent);
    if (Number.isSafeInteger(at) && queue.success && typeof id === "string" && id.length <= 256)
      return { at: at as number, agent: queue.data, id };
  }
  throw badCursor();
}

export function encodeQueueCursor(next: string): string {
  return Buffer.from(JSON.stringify({ q: next })).toString("base64url");
}

export function decodeQueueCursor(cursor: unknown): string {
  const parsed = parseCursor(cursor);
  if (typeof parsed === "object" && parsed !== null && "q" in parsed) {
    const next = parsed.q;
    if (typeof next === "string" && next.length <= 256) return next;
  }
  throw badCursor();
}

/** A browse position: how many messages of the state came before the page. */
export function encodeOffsetCursor(offset: number): string {
  return Buffer.from(JSON.stringify({ o: offset })).toString("base64url");
}

export function decodeOffsetCursor(cursor: unknown): number {
  const parsed = parseCursor(cursor);
  if (typeof parsed === "object" && parsed !== null && "o" in parsed) {
    const offset = parsed.o;
    if (typeof offset === "number" && Number.isSafeInteger(offset) && offset >= 0) return offset;
  }
  throw badCursor();
}

function parseCursor(cursor: unknown): unknown {
  if (typeof cursor !== "string" || cursor.length > 1_024 || !/^[A-Za-z0-9_-]+$/.test(cursor))
    throw badCursor();
  try {
    return JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"));
  } catch {
    throw badCursor();
  }
}

function badCursor(): ValidationError {
  return new ValidationError("cursor is not one this API handed out", {
    code: "INVALID_ARGUMENT",
    field: "cursor",
  });
}
