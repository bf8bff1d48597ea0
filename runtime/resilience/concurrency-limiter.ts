import { invoke } from "./timeout.js";
import { OverloadedError } from "./overloaded-error.js";

export interface ConcurrencyLimiterOptions {
  /** Calls running at once. */
  maxInFlight: number;
  /** Calls waiting for a slot; one more is refused with OVERLOADED. 0 means no waiting at all. */
  maxQueued: number;
}

export interface RunOptions {
  /** Aborting while the call still waits for a slot drops it (rejects with the signal's reason). */
  signal?: AbortSignal | undefined;
}

interface Waiting {
  start: () => void;
  onAbort: () => void;
}

/**
 * Bounds concurrent work (a bulkhead): at most `maxInFlight` calls run, up to `maxQueued` more wait in FIFO order,
 * and anything beyond is refused at once with OverloadedError, so overload turns into fast 429s instead of
 * unbounded memory and latency.
 */
export class ConcurrencyLimiter {
  readonly maxInFlight: number;
  readonly maxQueued: number;
  private running = 0;
  private readonly waiting: Waiting[] = [];

  constructor(options: ConcurrencyLimiterOptions) {
    if (!Number.isInteger(options.maxInFlight) || options.maxInFlight < 1)
      throw new RangeError("maxInFlight must be a positive integer");
    if (!Number.isInteger(options.maxQueued) || options.maxQueued < 0)
      throw new RangeError("maxQueued must be a non-negative integer");
    this.maxInFlight = options.maxInFlight;
    this.maxQueued = options.maxQueued;
  }

  /** Calls running now. */
  get inFlight(): number {
    return this.running;
  }

  /** Calls waiting for a slot. */
  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `fn` when a slot is free; rejects with OverloadedError when the queue is full. */
  run<T>(fn: () => Promise<T>, options: RunOptions = {}): Promise<T> {
    const signal = options.signal;
    if (signal?.aborted === true) return Promise.reject(abortReason(signal));
    if (this.running < this.maxInFlight) return this.start(fn);
    if (this.waiting.length >= this.maxQueued) {
      return Promise.reject(
        new OverloadedError(
          `too many concurrent requests: ${this.running} running and ${this.waiting.length} queued`,
        ),
      );
    }
    return new Promise<T>((resolve, reject) => {
      const entry: Waiting = {
        // The finishing call hands its slot over: `running` is not decremented in between.
        start: () => {
          signal?.removeEventListener("abort", entry.onAbort);
          this.execute(fn).then(resolve, reject);
        },
        onAbort: () => {
          const index = this.waiting.indexOf(entry);
          if (index < 0) return;
          this.waiting.splice(index, 1);
          reject(abortReason(signal));
        },
      };
      signal?.addEventListener("abort", entry.onAbort, { once: true });
      this.waiting.push(entry);
    });
  }

  private start<T>(fn: () => Promise<T>): Promise<T> {
    this.running++;
    return this.execute(fn);
  }

  /** Runs `fn` in a slot already counted in `running`, and passes the slot on when it settles. */
  private async execute<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await invoke(fn);
    } finally {
      this.release();
    }
  }

  private release(): void {
    const next = this.waiting.shift();
    if (next === undefined) this.running--;
    else next.start();
  }
}

function abortReason(signal: AbortSignal | undefined): Error {
  const reason: unknown = signal?.reason;
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`);
}
