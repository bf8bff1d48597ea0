/**
 * Errors the client raises. Server errors keep the sidecar's stable `errorCode` (see docs/http-api.md); errors that
 * happen on this side of the wire use their own codes: `SIDECAR_UNREACHABLE`, `CLIENT_TIMEOUT`,
 * `UNEXPECTED_RESPONSE`, `ALREADY_SETTLED`, `NO_AGENT` and `INVALID_MESSAGE` (a typed payload failed its schema).
 */
export interface BmnClientErrorOptions {
  /** The HTTP status, when the sidecar answered. */
  status?: number | undefined;
  /** The offending input, when the sidecar named one (e.g. `priority`, `messages.3.to`). */
  field?: string | undefined;
  /** Seconds the sidecar asked us to wait before retrying (429 and 503). */
  retryAfterSeconds?: number | undefined;
  cause?: unknown;
}

export class BmnClientError extends Error {
  readonly errorCode: string;
  readonly status: number | undefined;
  readonly field: string | undefined;
  readonly retryAfterSeconds: number | undefined;

  constructor(errorCode: string, message: string, options: BmnClientErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.errorCode = errorCode;
    this.status = options.status;
    this.field = options.field;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  /** True for answers worth retrying unchanged later: overload, an unavailable store, an unreachable sidecar. */
  get retryable(): boolean {
    return RETRYABLE.has(this.errorCode);
  }
}

const RETRYABLE = new Set(["OVERLOADED", "STORE_UNAVAILABLE", "SIDECAR_UNREACHABLE"]);

/** The sidecar could not be reached at all (connection refused, DNS failure, reset before an answer). */
export class SidecarUnreachableError extends BmnClientError {
  readonly url: string;

  constructor(url: string, cause: unknown) {
    super("SIDECAR_UNREACHABLE", `cannot reach the sidecar at ${url}${describeCause(cause)}`, { cause });
    this.url = url;
  }
}

/** No answer within the client's timeout. The request may or may not have been applied. */
export class ClientTimeoutError extends BmnClientError {
  constructor(url: string, timeoutMs: number) {
    super("CLIENT_TIMEOUT", `no answer from the sidecar at ${url} within ${timeoutMs} ms`);
  }
}

export function isBmnClientError(value: unknown): value is BmnClientError {
  return value instanceof BmnClientError;
}

function describeCause(cause: unknown): string {
  // undici wraps the socket error: TypeError("fetch failed") with cause { code: "ECONNREFUSED" }.
  let current: unknown = cause;
  for (let depth = 0; depth < 4 && typeof current === "object" && current !== null; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return ` (${code})`;
    current = (current as { cause?: unknown }).cause;
  }
  return "";
}
