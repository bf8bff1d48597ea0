/**
 * A per-object work queue: a key is queued at most once, handled by one worker at a time (a key added while
 * it is being handled is handled again afterwards), and retried with exponential backoff when the handler
 * throws. Keys are usually `namespace/name`.
 */
export interface WorkQueueOptions {
  /** How many different keys may be handled at once. Default 4. */
  concurrency?: number;
  /** First retry delay. Default 200 ms. */
  baseDelayMs?: number;
  /** Longest retry delay. Default 60 s. */
  maxDelayMs?: number;
  /** Called with every handler failure (the key is retried). */
  onError?: (key: string, error: unknown, attempt: number) => void;
}

export class WorkQueue {
  private readonly pending = new Set<string>();
  private readonly active = new Map<string, Promise<void>>();
  /** Keys added while active: handled again once the current run ends. */
  private readonly dirty = new Set<string>();
  private readonly failures = new Map<string, number>();
  private readonly retryTimers = new Map<string, NodeJS.Timeout>();
  private readonly concurrency: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private stopped = false;

  constructor(
    private readonly handler: (key: string) => Promise<void>,
    private readonly options: WorkQueueOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 60_000;
  }

  /** Queues a key now (a pending retry of it is dropped: this run replaces it). */
  add(key: string): void {
    if (this.stopped) return;
    const timer = this.retryTimers.get(key);
    if (timer !== undefined) {
      clearTimeout(timer);
      this.retryTimers.delete(key);
    }
    if (this.active.has(key)) this.dirty.add(key);
    else this.pending.add(key);
    this.pump();
  }

  /**
   * Queues a key after a delay, e.g. to poll something the watches cannot see (a store coming up). A timer
   * already pending for the key is kept; `add` replaces it.
   */
  addAfter(key: string, delayMs: number): void {
    if (this.stopped || this.retryTimers.has(key)) return;
    this.retryTimers.set(
      key,
      setTimeout(() => {
        this.retryTimers.delete(key);
        this.add(key);
      }, delayMs),
    );
  }

  /** Keys waiting, being handled, or waiting for a retry. */
  get size(): number {
    return new Set([...this.pending, ...this.active.keys(), ...this.retryTimers.keys()]).size;
  }

  /** Stops taking keys, drops retries, and waits for the handlers that are running. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const timer of this.retryTimers.values()) clearTimeout(timer);
    this.retryTimers.clear();
    this.pending.clear();
    this.dirty.clear();
    await Promise.allSettled([...this.active.values()]);
  }

  private pump(): void {
    while (!this.stopped && this.active.size < this.concurrency) {
      const key = this.pending.values().next().value;
      if (key === undefined) return;
      this.pending.delete(key);
      this.active.set(key, this.run(key));
    }
  }

  private async run(key: string): Promise<void> {
    // Yield first, so `active` holds this run before its `finally` can remove it.
    await Promise.resolve();
    try {
      await this.handler(key);
      this.failures.delete(key);
    } catch (error) {
      const attempt = (this.failures.get(key) ?? 0) + 1;
      this.failures.set(key, attempt);
      this.options.onError?.(key, error, attempt);
      if (!this.stopped && !this.dirty.has(key)) {
        const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
        clearTimeout(this.retryTimers.get(key));
        this.retryTimers.set(
          key,
          setTimeout(() => {
            this.retryTimers.delete(key);
            this.add(key);
          }, delay),
        );
      }
    } finally {
      this.active.delete(key);
      if (this.dirty.delete(key) && !this.stopped) this.pending.add(key);
      this.pump();
    }
  }
}
