import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { BmnError, LeaseError, StoreUnavailableError } from "../../core/errors.js";
import { withTimeout } from "../../runtime/resilience/timeout.js";

/** A promise settled from outside. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void; reject: (error: Error) => void } {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe("withTimeout", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it("answers what the operation answers in time, and leaves no timer behind", async () => {
    const pending = deferred<string>();
    const call = withTimeout(() => pending.promise, 100);
    await vi.advanceTimersByTimeAsync(99);
    pending.resolve("ok");
    await expect(call).resolves.toBe("ok");
    expect(vi.getTimerCount()).toBe(0);
  });

  it("rejects with STORE_UNAVAILABLE once the limit passes", async () => {
    const call = withTimeout(() => new Promise<never>(() => undefined), 100);
    const outcome = call.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(99);
    let settled = false;
    void outcome.then(() => (settled = true));
    await Promise.resolve();
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    const error = await outcome;
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: "STORE_UNAVAILABLE", message: "store call timed out after 100 ms" });
  });

  it("passes the operation's own rejection through unchanged", async () => {
    const lease = new LeaseError("LEASE_NOT_FOUND", "x");
    await expect(withTimeout(() => Promise.reject(lease), 100)).rejects.toBe(lease);
    expect(vi.getTimerCount()).toBe(0);
  });

  it("turns a synchronous throw into a rejection", async () => {
    const error = new BmnError("INTERNAL", "boom");
    await expect(
      withTimeout(() => {
        throw error;
      }, 100),
    ).rejects.toBe(error);
  });

  it("a late rejection after the timeout is handled (no unhandled rejection)", async () => {
    const pending = deferred<string>();
    const call = withTimeout(() => pending.promise, 10);
    const outcome = call.catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(10);
    expect(await outcome).toMatchObject({ code: "STORE_UNAVAILABLE" });
    pending.reject(new Error("late"));
    await vi.advanceTimersByTimeAsync(0);
  });

  it("a non-finite limit sets no timer", async () => {
    const pending = deferred<number>();
    const call = withTimeout(() => pending.promise, Infinity);
    expect(vi.getTimerCount()).toBe(0);
    pending.resolve(7);
    await expect(call).resolves.toBe(7);
  });
});
