import type { Row, SqlParam } from "./sql-client.js";

/**
 * Helpers that build the *shape* of statements (how many placeholders) — never their values, which are always
 * bound parameters. Lists are padded to a power of two so that a store prepares a handful of statement shapes
 * instead of one per list length (MariaDB caps prepared statements server-wide).
 */

/** `?, ?, ?` */
export function marks(count: number): string {
  return Array.from({ length: count }, () => "?").join(", ");
}

/** `(?, ?), (?, ?)` */
export function tuples(count: number, width: number): string {
  const one = `(${marks(width)})`;
  return Array.from({ length: count }, () => one).join(", ");
}

/** The list padded to the next power of two by repeating its last item (harmless inside IN (...)). */
export function padded<T>(items: readonly T[]): T[] {
  const last = items.at(-1);
  if (last === undefined) return [];
  let size = 1;
  while (size < items.length) size *= 2;
  return [...items, ...Array.from({ length: size - items.length }, () => last)];
}

/** Splits into chunks whose sizes are powers of two of at most `max` (for multi-row INSERTs, which cannot pad). */
export function pow2Chunks<T>(items: readonly T[], max = 64): T[][] {
  const chunks: T[][] = [];
  let offset = 0;
  while (offset < items.length) {
    let size = max;
    while (size > items.length - offset) size /= 2;
    chunks.push(items.slice(offset, offset + size));
    offset += size;
  }
  return chunks;
}

/** Splits into chunks of at most `size`. */
export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let offset = 0; offset < items.length; offset += size) result.push(items.slice(offset, offset + size));
  return result;
}

export function num(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "string" || typeof value === "bigint") return Number(value);
  throw new TypeError(`expected a number from the database, got ${typeof value}`);
}

export function numOrUndefined(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : num(value);
}

export function text(value: unknown): string {
  if (typeof value === "string") return value;
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw new TypeError(`expected text from the database, got ${typeof value}`);
}

export function textOrUndefined(value: unknown): string | undefined {
  return value === null || value === undefined ? undefined : text(value);
}

/** A BIGINT column as an exact decimal string (tokens are compared as strings and BigInts, never as doubles). */
export function bigText(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "bigint") return String(value);
  throw new TypeError(`expected an integer from the database, got ${typeof value}`);
}

export function first(rows: readonly Row[]): Row | undefined {
  return rows[0];
}

/** The values of a list of tuples, flattened in order for their placeholders. */
export function flat(rows: readonly (readonly SqlParam[])[]): SqlParam[] {
  return rows.flat();
}

/** Rows one janitor statement deletes at most, so cleanup never holds locks for long. */
export const JANITOR_BATCH = 1_000;
