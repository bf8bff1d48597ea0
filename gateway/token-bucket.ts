/**
 * A token bucket: `ratePerSecond` tokens a second up to `capacity`. A request for more than the capacity is
 * granted once the bucket is full and leaves it in debt, so an oversized batch is slowed, never refused forever.
 */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;

  constructor(
    readonly ratePerSecond: number,
    readonly capacity: number,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond))
      throw new RangeError("ratePerSecond must be a positive number");
    if (!(capacity > 0)) throw new RangeError("capacity must be a positive number");
    this.tokens = capacity;
    this.updatedAt = now();
  }

  /** Tokens available now (negative while in debt). */
  available(): number {
    this.refill();
    return this.tokens;
  }

  /** Takes `amount` tokens if they are there (or the bucket is full); else takes nothing. */
  tryTake(amount: number): boolean {
    this.refill();
    if (this.tokens >= Math.min(amount, this.capacity)) {
      this.tokens -= amount;
      return true;
    }
    return false;
  }

  /** Milliseconds until `tryTake(amount)` would succeed; 0 when it would now. */
  waitMs(amount: number): number {
    this.refill();
    const missing = Math.min(amount, this.capacity) - this.tokens;
    return missing <= 0 ? 0 : Math.ceil((missing / this.ratePerSecond) * 1_000);
  }

  /** Takes `amount` tokens unconditionally (going into debt), answering how long the caller should wait first. */
  take(amount: number): number {
    this.refill();
    const missing = Math.min(amount, this.capacity) - this.tokens;
    this.tokens -= amount;
    return missing <= 0 ? 0 : Math.ceil((missing / this.ratePerSecond) * 1_000);
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.updatedAt);
    this.updatedAt = now;
    this.tokens = Math.min(this.capacity, this.tokens + (elapsed / 1_000) * this.ratePerSecond);
  }
}
