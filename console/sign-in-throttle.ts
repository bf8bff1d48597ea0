import { BmnError } from "../core/errors.js";

/** Failed sign-ins one client address may make per window before it has to wait for the window to end. */
const MAX_FAILURES = 10;
const WINDOW_MS = 60_000;
/** Addresses remembered at most; past this the oldest is forgotten. */
const MAX_TRACKED = 10_000;

interface Failures {
  count: number;
  windowStart: number;
}

/**
 * Guessing the console's token, by the sign-in form or a Bearer header, is slowed to MAX_FAILURES tries a minute
 * per client address: a console behind a Service is reachable by every pod that may reach it.
 */
export class SignInThrottle {
  private readonly failures = new Map<string, Failures>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Seconds `client` must wait before its next try, or 0. */
  waitSeconds(client: string): number {
    const entry = this.current(client);
    if (entry === undefined || entry.count < MAX_FAILURES) return 0;
    return Math.max(1, Math.ceil((entry.windowStart + WINDOW_MS - this.now()) / 1_000));
  }

  /** Throws TOO_MANY_ATTEMPTS while `client` has used up its tries. */
  check(client: string): void {
    const wait = this.waitSeconds(client);
    if (wait > 0)
      throw new BmnError(
        "TOO_MANY_ATTEMPTS",
        `too many failed sign-ins from ${client}; try again in ${String(wait)} s`,
        { field: "token" },
      );
  }

  failed(client: string): void {
    const entry = this.current(client) ?? { count: 0, windowStart: this.now() };
    entry.count++;
    this.failures.delete(client);
    this.failures.set(client, entry);
    if (this.failures.size > MAX_TRACKED) {
      const oldest = this.failures.keys().next().value;
      if (oldest !== undefined) this.failures.delete(oldest);
    }
  }

  private current(client: string): Failures | undefined {
    const entry = this.failures.get(client);
    if (entry === undefined) return undefined;
    if (this.now() - entry.windowStart >= WINDOW_MS) {
      this.failures.delete(client);
      return undefined;
    }
    return entry;
  }
}
