import { BmnError, type BmnErrorOptions } from "../../core/errors.js";

/** The sidecar is at capacity and refused the call without running it (HTTP 429). */
export class OverloadedError extends BmnError {
  /** A hint for `Retry-After`, when there is one. */
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: BmnErrorOptions & { retryAfterMs?: number | undefined } = {}) {
    super("OVERLOADED", message, options);
    this.retryAfterMs = options.retryAfterMs;
  }
}
