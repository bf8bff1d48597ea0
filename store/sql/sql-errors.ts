import { BmnError, StoreUnavailableError } from "../../core/errors.js";

/** The fields mysql2 puts on the errors it raises (server errors carry errno; socket errors a Node code). */
interface DriverError extends Error {
  code?: string;
  errno?: number;
  sqlState?: string;
  fatal?: boolean;
}

function asDriverError(error: unknown): DriverError | undefined {
  return error instanceof Error ? error : undefined;
}

/**
 * Raised by our own statements when a guarded write found the row changed under it (a lost race that a retry of
 * the whole transaction resolves). Treated like a deadlock.
 */
export class WriteConflict extends Error {
  constructor(what: string) {
    super(`write conflict: ${what}`);
    this.name = "WriteConflict";
  }
}

/**
 * Server errors after which the whole transaction can simply run again:
 * 1213 deadlock, 1205 lock wait timeout, 1062 duplicate key (a concurrent insert of the same dedupe key or message
 * won the race; the retry sees it), 1020 record changed (MariaDB snapshot isolation), and TiDB's 9007 write
 * conflict, 8002 SELECT FOR UPDATE conflict, 8022 transaction retry, 8028 schema changed, 9004/9006 resolve lock
 * and GC timeouts.
 */
const RETRYABLE_ERRNOS = new Set([1213, 1205, 1062, 1020, 9007, 8002, 8022, 8028, 9004, 9006]);

/** Errors that mean the server or the connection is gone or refusing us for now. */
const UNAVAILABLE_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "ENOTFOUND",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "PROTOCOL_CONNECTION_LOST",
  "PROTOCOL_SEQUENCE_TIMEOUT",
  "PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR",
  "PROTOCOL_ENQUEUE_AFTER_QUIT",
  "ER_SERVER_SHUTDOWN",
  "ER_CON_COUNT_ERROR",
  "ER_CONNECTION_KILLED",
  "ER_QUERY_INTERRUPTED",
  "ER_TOO_MANY_USER_CONNECTIONS",
]);
/** 1040 too many connections, 1053 shutdown, 1927 connection killed, 2002/2003/2006/2013 client-side losses. */
const UNAVAILABLE_ERRNOS = new Set([1040, 1053, 1927, 2002, 2003, 2006, 2013, 1317]);

export function isRetryable(error: unknown): boolean {
  if (error instanceof WriteConflict) return true;
  const driver = asDriverError(error);
  return driver?.errno !== undefined && RETRYABLE_ERRNOS.has(driver.errno) && driver.fatal !== true;
}

/** True when the connection that raised this error must not be used again. */
export function isConnectionError(error: unknown): boolean {
  if (error instanceof StoreUnavailableError) return true;
  const driver = asDriverError(error);
  if (driver === undefined || error instanceof BmnError || error instanceof WriteConflict) return false;
  if (driver.fatal === true) return true;
  if (driver.code !== undefined && UNAVAILABLE_CODES.has(driver.code)) return true;
  if (driver.errno !== undefined && UNAVAILABLE_ERRNOS.has(driver.errno)) return true;
  // mysql2 raises plain Errors when a closed connection or pool is used.
  return /closed state|Pool is closed|connection is closed/i.test(driver.message);
}

/** Maps what mysql2 throws to BMN's typed errors; BMN's own errors pass through unchanged. */
export function toStoreError(error: unknown): Error {
  if (error instanceof BmnError) return error;
  const driver = asDriverError(error);
  const message = driver?.message ?? String(error);
  if (isConnectionError(error) || driver === undefined) {
    return new StoreUnavailableError(`the SQL store is unavailable: ${message}`, { cause: error });
  }
  return new BmnError("INTERNAL", `the SQL store refused a statement: ${message}`, { cause: error });
}

/** The server error number, when the error came from the server. */
export function errnoOf(error: unknown): number | undefined {
  return asDriverError(error)?.errno;
}

/** Errors raised before a statement of the caller reached the server (no connection, a closed one). */
const NOT_SENT = new WeakSet<object>();
/** Errors of a COMMIT whose answer was lost: the transaction may or may not have been applied. */
const OUTCOME_UNKNOWN = new WeakSet<object>();
/** mysql2 refuses to queue a command on a connection that already failed or quit: nothing went out. */
const REFUSED_BEFORE_SEND = new Set(["PROTOCOL_ENQUEUE_AFTER_FATAL_ERROR", "PROTOCOL_ENQUEUE_AFTER_QUIT"]);

/** Marks `error` as raised before anything of the call was sent (safe to run the call elsewhere). */
export function markNotSent<E extends Error>(error: E): E {
  NOT_SENT.add(error);
  return error;
}

/** True when nothing of the failed call reached the server, so running it on another endpoint is safe. */
export function wasNotSent(error: unknown): boolean {
  if (typeof error === "object" && error !== null && NOT_SENT.has(error)) return true;
  const cause = error instanceof Error ? error.cause : undefined;
  const driver = asDriverError(cause ?? error);
  if (driver === undefined) return false;
  if (driver.code !== undefined && REFUSED_BEFORE_SEND.has(driver.code)) return true;
  return /closed state|Pool is closed/i.test(driver.message);
}

/** Marks `error` as a lost COMMIT answer: the call must not be run again anywhere. */
export function markOutcomeUnknown<E extends Error>(error: E): E {
  OUTCOME_UNKNOWN.add(error);
  return error;
}

export function isOutcomeUnknown(error: unknown): boolean {
  return typeof error === "object" && error !== null && OUTCOME_UNKNOWN.has(error);
}
