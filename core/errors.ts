/** Stable error codes. Callers switch on `code`; the HTTP layer maps each to a status. */
export const ERROR_STATUS = {
  /** The request is not well-formed HTTP (bad method token, bad Content-Length, bad percent-encoding). */
  BAD_REQUEST: 400,
  INVALID_MESSAGE: 400,
  INVALID_ARGUMENT: 400,
  INVALID_ADDRESS: 400,
  INVALID_JSON: 400,
  UNSUPPORTED_MEDIA_TYPE: 415,
  TOO_LARGE: 413,
  METHOD_NOT_ALLOWED: 405,
  REQUEST_TIMEOUT: 408,
  URI_TOO_LONG: 414,
  HEADERS_TOO_LARGE: 431,
  UNAUTHENTICATED: 401,
  FORBIDDEN: 403,
  LEASE_NOT_FOUND: 404,
  LEASE_EXPIRED: 409,
  TX_NOT_FOUND: 404,
  TX_CONFLICT: 409,
  TX_EXPIRED: 409,
  /** A transaction already holds store.delivery.maxTransactionOps writes. */
  TX_TOO_LARGE: 409,
  /** store.delivery.maxOpenTransactions transactions are open already. */
  TOO_MANY_TRANSACTIONS: 429,
  /** An agent is at store.delivery.maxSubscriptionsPerAgent (or its wildcard cap). */
  TOO_MANY_SUBSCRIPTIONS: 409,
  NOT_FOUND: 404,
  /** An A2A task is completed, failed, canceled or rejected: it takes no more events. */
  TASK_TERMINAL: 409,
  UNROUTABLE: 422,
  OVERLOADED: 429,
  /** Too many failed sign-ins from one client address: wait for Retry-After. */
  TOO_MANY_ATTEMPTS: 429,
  TIMEOUT: 504,
  /** The console could not reach its sidecar. */
  SIDECAR_UNREACHABLE: 502,
  STORE_UNAVAILABLE: 503,
  /** The store is at its memory limit: nothing was written; receive, ack and purge still work. */
  STORE_FULL: 503,
  INTERNAL: 500,
} as const;

export type ErrorCode = keyof typeof ERROR_STATUS;

export interface BmnErrorOptions {
  field?: string | undefined;
  cause?: unknown;
}

/** Base of every error BMN raises on purpose. `field` names the offending input, where there is one. */
export class BmnError extends Error {
  readonly code: ErrorCode;
  readonly field: string | undefined;

  constructor(code: ErrorCode, message: string, options: BmnErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.field = options.field;
  }

  get status(): number {
    return ERROR_STATUS[this.code];
  }

  /** The `{errorCode, message, field?}` body the HTTP API answers with. */
  toJSON(): { errorCode: ErrorCode; message: string; field?: string } {
    return this.field === undefined
      ? { errorCode: this.code, message: this.message }
      : { errorCode: this.code, message: this.message, field: this.field };
  }
}

export class ValidationError extends BmnError {
  constructor(
    message: string,
    options: BmnErrorOptions & { code?: "INVALID_MESSAGE" | "INVALID_ARGUMENT" | "INVALID_ADDRESS" } = {},
  ) {
    super(options.code ?? "INVALID_MESSAGE", message, options);
  }
}

export class TooLargeError extends BmnError {
  constructor(size: number, limit: number, options: BmnErrorOptions = {}) {
    super("TOO_LARGE", `message is ${size} bytes, over the limit of ${limit} bytes`, options);
  }
}

export class LeaseError extends BmnError {
  constructor(code: "LEASE_NOT_FOUND" | "LEASE_EXPIRED", leaseId: string, options: BmnErrorOptions = {}) {
    super(
      code,
      code === "LEASE_NOT_FOUND"
        ? `lease ${JSON.stringify(leaseId)} is unknown or already settled`
        : `lease ${JSON.stringify(leaseId)} has expired; the message was or will be redelivered`,
      { field: "leaseId", ...options },
    );
  }
}

export class TransactionError extends BmnError {
  constructor(
    code: "TX_NOT_FOUND" | "TX_CONFLICT" | "TX_EXPIRED" | "TX_TOO_LARGE" | "TOO_MANY_TRANSACTIONS",
    message: string,
    options: BmnErrorOptions = {},
  ) {
    super(code, message, options);
  }
}

/** A caller without valid credentials (a gateway peer with a missing or forged token, or an unknown domain). */
export class UnauthenticatedError extends BmnError {
  constructor(message: string, options: BmnErrorOptions = {}) {
    super("UNAUTHENTICATED", message, options);
  }
}

export class NotFoundError extends BmnError {
  constructor(message: string, options: BmnErrorOptions = {}) {
    super("NOT_FOUND", message, options);
  }
}

export class StoreFullError extends BmnError {
  constructor(message: string, options: BmnErrorOptions = {}) {
    super("STORE_FULL", message, options);
  }
}

export class StoreUnavailableError extends BmnError {
  constructor(message: string, options: BmnErrorOptions = {}) {
    super("STORE_UNAVAILABLE", message, options);
  }
}

export function isBmnError(value: unknown): value is BmnError {
  return value instanceof BmnError;
}
