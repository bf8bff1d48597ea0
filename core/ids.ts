import { randomBytes } from "node:crypto";
import { z } from "zod";

/**
 * Message ids are CloudEvents ids restricted to characters that are safe in keys, URLs and SQL:
 * letters, digits and `.`, `_`, `~`, `-`. Generated ids are UUIDv7, so they sort by creation time.
 */
export const MESSAGE_ID_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;

export const messageIdSchema = z
  .string()
  .regex(MESSAGE_ID_PATTERN, { error: "must be 1-128 characters of letters, digits, '.', '_', '~' or '-'" })
  .brand<"MessageId">();
export type MessageId = z.infer<typeof messageIdSchema>;

export const transactionIdSchema = z
  .string()
  .regex(/^tx-[0-9a-f-]{36}$/, { error: "must be a transaction id as returned by begin (tx-<uuid>)" })
  .brand<"TransactionId">();
export type TransactionId = z.infer<typeof transactionIdSchema>;

let lastMillis = 0;
let sequence = 0;

/** Random bytes are drawn in bulk: one crypto call per 256 ids instead of two per id. */
const POOL_SIZE = 16 * 256;
let pool = randomBytes(POOL_SIZE);
let poolOffset = 0;

function random16(): Buffer {
  if (poolOffset + 16 > POOL_SIZE) {
    pool = randomBytes(POOL_SIZE);
    poolOffset = 0;
  }
  const bytes = Buffer.from(pool.subarray(poolOffset, poolOffset + 16));
  poolOffset += 16;
  return bytes;
}

/**
 * RFC 9562 UUIDv7: 48-bit Unix milliseconds, then 12 bits of a per-millisecond counter (so ids made in
 * one process sort in creation order even within a millisecond), then 62 random bits.
 */
export function uuidv7(now: number = Date.now()): string {
  if (now > lastMillis) {
    lastMillis = now;
    sequence = (random16()[0] ?? 0) & 0xff; // random start keeps separate processes from colliding on the counter
  } else {
    sequence++;
    if (sequence > 0xfff) {
      lastMillis++;
      sequence = 0;
    }
  }
  const bytes = random16();
  const millis = lastMillis;
  bytes[0] = Math.floor(millis / 2 ** 40) & 0xff;
  bytes[1] = Math.floor(millis / 2 ** 32) & 0xff;
  bytes[2] = (millis >>> 24) & 0xff;
  bytes[3] = (millis >>> 16) & 0xff;
  bytes[4] = (millis >>> 8) & 0xff;
  bytes[5] = millis & 0xff;
  bytes[6] = 0x70 | ((sequence >>> 8) & 0x0f);
  bytes[7] = sequence & 0xff;
  bytes[8] = 0x80 | ((bytes[8] ?? 0) & 0x3f);
  const hex = bytes.toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

export function newMessageId(): MessageId {
  return uuidv7() as MessageId;
}

export function newTransactionId(): TransactionId {
  return `tx-${uuidv7()}` as TransactionId;
}

/** The creation time embedded in a UUIDv7, or undefined for ids that are not UUIDv7. */
export function uuidv7Time(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
