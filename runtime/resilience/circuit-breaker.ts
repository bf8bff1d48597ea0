import { BmnError, StoreUnavailableError, type BmnErrorOptions } from "../../core/errors.js";
import { invoke } from "./timeout.js";

export type CircuitState = "closed" | "open" | "half-open";

export interface CircuitBreakerOptions {
  /** Consecutive counted failures that open the circuit. Default 5. */
  failureThreshold?: number | undefined;
  /** How long the circuit stays open before it lets probes through. Default 5000. */
  openMs?: number | undefined;
  /** Calls admitted while half-open; that many successes close the circuit. Default 1. */
  halfOpenProbes?: number | undefined;
  /** Clock in epoch ms; injectable so tests need no sleeps. */
  now?: (() => number) | undefined;
  /** Which errors count as failures. Default: STORE_UNAVAILABLE only (see `isStoreUnavailable`). */
  isFailure?: ((error: unknown) => boolean) | undefined;
  /** What the circuit guards, named in the refusal's message (default "store"). */
  guards?: string | undefined;
}

export type StateChangeListener = (to: CircuitState, from: CircuitState) => void;

/** A call refused without reaching the backend because the circuit is open (or half-open and fully probed). */
export class CircuitOpenError extends StoreUnavailableError {
  /** How long until the circuit may let calls through again; the HTTP layer sends it as `Retry-After`. */
  readonly retryAfterMs: number;

  constructor(retryAfterMs: number, options: BmnErrorOptions & { guards?: string | undefined } = {}) {
    super(`${options.guards ?? "store"} circuit breaker is open; retry after ${retryAfterMs} ms`, options);
    this.retryAfterMs = retryAfterMs;
  }
}

/** True for STORE_UNAVAILABLE: the backend did not answer. Client errors (INVALID_*, LEASE_*, ...) are false. */
export function isStoreUnavailable(error: unknown): boolean {
  return error instanceof BmnError && error.code === "STORE_UNAVAILABLE";
}

/** The `retryAfterMs` an error carries (a CircuitOpenError), or undefined. */
export function retryAfterMsOf(error: unknown): number | undefined {
  return error instanceof CircuitOpenError ? error.retryAfterMs : undefined;
}

/** One admitted call; report how it ended exactly once. */
export interface CircuitPermit {
  success(): void;
  failure(): void;
  /** The call ended in a way that says nothing about the backend's health (e.g. a client error). */
  ignore(): void;
}

/**
 * Closed → open after `failureThreshold` consecutive failures; open → half-open once `openMs` have passed
 * (noticed lazily, on the next call or `state` read: no timers); half-open admits `halfOpenProbes` calls, closes
 * after that many successes and re-opens on any failure. Outcomes of calls admitted in an earlier state
 * (an older "generation") are ignored, so a slow call that fails after the circuit opened does not extend the
 * open period, and one that succeeds late does not close it. Errors `isFailure` rejects (client errors) neither
 * count as failures nor as successes.
 */
export class CircuitBreaker {
  readonly failureThreshold: number;
  readonly openMs: number;
  private readonly guards: string;
  readonly halfOpenProbes: number;
  private readonly now: () => number;
  private readonly isFailure: (error: unknown) => boolean;
  private readonly listeners = new Set<StateChangeListener>();

  private current: CircuitState = "closed";
  /** Bumped on every state change; permits of an older generation no longer count. */
  private generation = 0;
  private consecutiveFailures = 0;
  private openUntil = 0;
  /** Half-open: probes admitted and not yet finished, and probes that succeeded. */
  private probesInFlight = 0;
  private probeSuccesses = 0;

  constructor(options: CircuitBreakerOptions = {}) {
    this.failureThreshold = positiveInteger(options.failureThreshold ?? 5, "failureThreshold");
    this.openMs = nonNegative(options.openMs ?? 5_000, "openMs");
    this.guards = options.guards ?? "store";
    this.halfOpenProbes = positiveInteger(options.halfOpenProbes ?? 1, "halfOpenProbes");
    this.now = options.now ?? Date.now;
    this.isFailure = options.isFailure ?? isStoreUnavailable;
  }

  /** The current state; reading it may move open → half-open when `openMs` have passed. */
  get state(): CircuitState {
    this.refresh();
    return this.current;
  }

  /**
   * How long until the circuit lets a call through: the rest of the open period, a short hint while half-open
   * probes are all taken, and 0 when a call would be admitted now.
   */
  get retryAfterMs(): number {
    this.refresh();
    if (this.current === "open") return Math.max(1, this.openUntil - this.now());
    if (this.current === "half-open" && this.probesInFlight + this.probeSuccesses >= this.halfOpenProbes)
      return this.probeRetryHintMs();
    return 0;
  }

  /** Calls `listener(to, from)` on every transition; returns a function that removes it. */
  onStateChange(listener: StateChangeListener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** Runs `operation` if the circuit admits it (else rejects with CircuitOpenError) and records its outcome. */
  async execute<T>(operation: () => Promise<T>): Promise<T> {
    const permit = this.acquire();
    let result: T;
    try {
      result = await invoke(operation);
    } catch (error) {
      if (this.isFailure(error)) permit.failure();
      else permit.ignore();
      throw error;
    }
    permit.success();
    return result;
  }

  /** Admits one call or throws CircuitOpenError. For callers that cannot wrap the call in `execute`. */
  acquire(): CircuitPermit {
    this.refresh();
    if (this.current === "open")
      throw new CircuitOpenError(Math.max(1, this.openUntil - this.now()), { guards: this.guards });
    if (this.current === "half-open") {
      if (this.probesInFlight + this.probeSuccesses >= this.halfOpenProbes)
        throw new CircuitOpenError(this.probeRetryHintMs(), { guards: this.guards });
      this.probesInFlight++;
    }
    return this.permit(this.generation, this.current === "half-open");
  }

  private permit(generation: number, probe: boolean): CircuitPermit {
    let settled = false;
    const settle = (outcome: "success" | "failure" | "ignore"): void => {
      if (settled) return;
      settled = true;
      if (generation !== this.generation) return;
      if (probe) this.probesInFlight--;
      this.record(outcome);
    };
    return {
      success: () => {
        settle("success");
      },
      failure: () => {
        settle("failure");
      },
      ignore: () => {
        settle("ignore");
      },
    };
  }

  private record(outcome: "success" | "failure" | "ignore"): void {
    if (outcome === "ignore") return;
    if (this.current === "closed") {
      if (outcome === "success") this.consecutiveFailures = 0;
      else if (++this.consecutiveFailures >= this.failureThreshold) this.open();
      return;
    }
    if (this.current === "half-open") {
      if (outcome === "failure") this.open();
      else if (++this.probeSuccesses >= this.halfOpenProbes) this.transition("closed");
    }
  }

  private open(): void {
    this.openUntil = this.now() + this.openMs;
    this.transition("open");
  }

  private refresh(): void {
    if (this.current === "open" && this.now() >= this.openUntil) this.transition("half-open");
  }

  private transition(to: CircuitState): void {
    const from = this.current;
    this.current = to;
    this.generation++;
    this.consecutiveFailures = 0;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    for (const listener of [...this.listeners]) {
      try {
        listener(to, from);
      } catch {
        // A metrics listener must never break the call path.
      }
    }
  }

  /** While a probe is in flight the verdict is near: suggest a short wait, at most the open period. */
  private probeRetryHintMs(): number {
    return Math.max(1, Math.min(this.openMs, 1_000));
  }
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer`);
  return value;
}

function nonNegative(value: number, name: string): number {
  if (!Number.isFinite(value) || value < 0) throw new RangeError(`${name} must be a non-negative number`);
  return value;
}
