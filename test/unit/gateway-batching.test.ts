import { describe, expect, it } from "vitest";
import { isFull, lingerMs, takeBatch } from "../../gateway/batch-builder.js";
import { forwardBackoffMs } from "../../gateway/forward-backoff.js";
import { TokenBucket } from "../../gateway/token-bucket.js";

const limits = { maxMessages: 3, maxBytes: 100, maxDelayMs: 10 };
const items = (...sizes: number[]) => sizes.map((sizeBytes, index) => ({ sizeBytes, index }));

describe("batch building", () => {
  it("takes at most maxMessages and maxBytes, in order, keeping the rest", () => {
    const { batch, rest } = takeBatch(items(10, 10, 10, 10), limits);
    expect(batch.map((item) => item.index)).toEqual([0, 1, 2]);
    expect(rest.map((item) => item.index)).toEqual([3]);
    const bytes = takeBatch(items(60, 30, 20), limits);
    expect(bytes.batch.map((item) => item.index)).toEqual([0, 1]);
    expect(bytes.rest.map((item) => item.index)).toEqual([2]);
  });

  it("sends a message larger than maxBytes alone rather than never", () => {
    const { batch, rest } = takeBatch(items(500, 10), limits);
    expect(batch.map((item) => item.index)).toEqual([0]);
    expect(rest).toHaveLength(1);
  });

  it("lingers up to maxDelayMs after the first message when the outbox is not backed up", () => {
    expect(lingerMs(items(10), limits, { backedUp: false, firstTakenAt: 1_000, now: 1_004 })).toBe(6);
    expect(lingerMs(items(10), limits, { backedUp: false, firstTakenAt: 1_000, now: 1_020 })).toBe(0);
  });

  it("sends at once when backed up or full, and has nothing to wait for when empty", () => {
    expect(lingerMs(items(10), limits, { backedUp: true, firstTakenAt: 1_000, now: 1_000 })).toBe(0);
    expect(lingerMs(items(10, 10, 10), limits, { backedUp: false, firstTakenAt: 1_000, now: 1_000 })).toBe(0);
    expect(lingerMs(items(100), limits, { backedUp: false, firstTakenAt: 1_000, now: 1_000 })).toBe(0);
    expect(lingerMs([], limits, { backedUp: false, firstTakenAt: 1_000, now: 1_000 })).toBe(0);
    expect(isFull(items(50, 50), limits)).toBe(true);
  });
});

describe("forward backoff", () => {
  it("stays within [0, min(max, base * 2^(attempt-1))] (full jitter)", () => {
    for (let attempt = 1; attempt <= 12; attempt++) {
      const ceiling = Math.min(30_000, 200 * 2 ** (attempt - 1));
      expect(forwardBackoffMs(attempt, 200, 30_000, { random: () => 0 })).toBe(0);
      expect(forwardBackoffMs(attempt, 200, 30_000, { random: () => 0.999999 })).toBe(ceiling);
      for (let n = 0; n < 50; n++) {
        const delay = forwardBackoffMs(attempt, 200, 30_000);
        expect(delay).toBeGreaterThanOrEqual(0);
        expect(delay).toBeLessThanOrEqual(ceiling);
      }
    }
  });

  it("waits at least a peer's Retry-After, capped at the maximum", () => {
    expect(forwardBackoffMs(1, 200, 30_000, { random: () => 0, retryAfterMs: 5_000 })).toBe(5_000);
    expect(forwardBackoffMs(1, 200, 30_000, { random: () => 0, retryAfterMs: 90_000 })).toBe(30_000);
  });
});

describe("token bucket", () => {
  it("grants up to capacity at once, then refills at the rate", () => {
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);
    expect(bucket.tryTake(5)).toBe(true);
    expect(bucket.tryTake(1)).toBe(false);
    expect(bucket.waitMs(1)).toBe(100);
    now = 100;
    expect(bucket.tryTake(1)).toBe(true);
    now = 10_000;
    expect(bucket.available()).toBe(5);
  });

  it("lets a request larger than the capacity through when full, leaving a debt", () => {
    let now = 0;
    const bucket = new TokenBucket(10, 5, () => now);
    expect(bucket.tryTake(8)).toBe(true);
    expect(bucket.available()).toBe(-3);
    expect(bucket.waitMs(5)).toBe(800);
    now = 800;
    expect(bucket.tryTake(5)).toBe(true);
  });

  it("take() always takes and answers how long to wait (bandwidth shaping)", () => {
    const now = 0;
    const bucket = new TokenBucket(1_000, 1_000, () => now);
    expect(bucket.take(1_000)).toBe(0);
    expect(bucket.take(500)).toBe(500);
    // Waits until a full bucket's worth (the capacity) is there again; the rest of the 2000 stays as debt, so the
    // long-run rate still holds.
    expect(bucket.take(2_000)).toBe(1_500);
    expect(bucket.available()).toBe(-2_500);
  });
});
