import { describe, expect, it } from "vitest";
import { BmnError, LeaseError, StoreUnavailableError, ValidationError } from "../../core/errors.js";
import { CircuitOpenError } from "../../runtime/resilience/circuit-breaker.js";
import { isRetryableError, withRetry, type RetryOptions } from "../../runtime/resilience/retry.js";
import { RETRYABLE_OPERATIONS } from "../../store/store-operations.js";

/** Retry options with a recording fake sleep and jitter pinned to the ceiling (random = 1). */
function options(overrides: Partial<RetryOptions> = {}): RetryOptions & { slept: number[] } {
  const slept: number[] = [];
  return {
    retries: 3,
    backoffBaseMs: 100,
    backoffMaxMs: 250,
    random: () => 0.999999,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    ...overrides,
    slept,
  };
}

/** An operation failing with each given error in turn, then answering `done`; records the attempt numbers. */
function flaky(errors: Error[]): { operation: (attempt: number) => Promise<string>; attempts: number[] } {
  const attempts: number[] = [];
  return {
    attempts,
    operation: (attempt) => {
      attempts.push(attempt);
      const error = errors[attempts.length - 1];
      return error === undefined ? Promise.resolve("done") : Promise.reject(error);
    },
  };
}

const down = (): StoreUnavailableError => new StoreUnavailableError("redis is down");

describe("withRetry", () => {
  it("answers the first success without pausing", async () => {
    const opts = options();
    const { operation, attempts } = flaky([]);
    await expect(withRetry(operation, opts)).resolves.toBe("done");
    expect(attempts).toEqual([1]);
    expect(opts.slept).toEqual([]);
  });

  it("retries STORE_UNAVAILABLE with exponential full-jitter backoff until it succeeds", async () => {
    const opts = options();
    const { operation, attempts } = flaky([down(), down()]);
    await expect(withRetry(operation, opts)).resolves.toBe("done");
    expect(attempts).toEqual([1, 2, 3]);
    // Ceilings: base * 2^(retry-1), capped at max; random near 1 lands on the ceiling.
    expect(opts.slept).toEqual([100, 200]);
  });

  it("is bounded: retries + 1 attempts, then the last error", async () => {
    const opts = options();
    const errors = [down(), down(), down(), new StoreUnavailableError("fourth"), down()];
    const { operation, attempts } = flaky(errors);
    await expect(withRetry(operation, opts)).rejects.toBe(errors[3]);
    expect(attempts).toEqual([1, 2, 3, 4]);
    expect(opts.slept).toEqual([100, 200, 250]);
  });

  it("pauses are uniformly random below the ceiling (full jitter)", async () => {
    const opts = options({ random: () => 0 });
    const { operation } = flaky([down(), down()]);
    await withRetry(operation, opts);
    expect(opts.slept).toEqual([0, 0]);
  });

  it.each([
    ["LEASE_NOT_FOUND", new LeaseError("LEASE_NOT_FOUND", "a.b.c")],
    ["INVALID_ARGUMENT", new ValidationError("bad", { code: "INVALID_ARGUMENT" })],
    ["INTERNAL", new BmnError("INTERNAL", "bug")],
    ["a plain Error", new Error("not ours")],
    ["an open circuit", new CircuitOpenError(500)],
  ])("does not retry %s", async (_, error) => {
    const opts = options();
    const { operation, attempts } = flaky([error]);
    await expect(withRetry(operation, opts)).rejects.toBe(error);
    expect(attempts).toEqual([1]);
    expect(opts.slept).toEqual([]);
  });

  it("stops at an open circuit even after retryable failures", async () => {
    const opts = options();
    const open = new CircuitOpenError(300);
    const { operation, attempts } = flaky([down(), open]);
    await expect(withRetry(operation, opts)).rejects.toBe(open);
    expect(attempts).toEqual([1, 2]);
  });

  it("retries 0 means one attempt", async () => {
    const opts = options({ retries: 0 });
    const { operation, attempts } = flaky([down()]);
    await expect(withRetry(operation, opts)).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(attempts).toEqual([1]);
  });

  it("reports each retry before pausing", async () => {
    const seen: string[] = [];
    const opts = options({
      onRetry: (error, retry, delayMs) => seen.push(`${retry}:${delayMs}:${(error as Error).message}`),
    });
    await withRetry(flaky([down()]).operation, opts);
    expect(seen).toEqual(["1:100:redis is down"]);
  });

  it("honours a custom shouldRetry", async () => {
    const opts = options({ shouldRetry: (error) => error instanceof TypeError });
    const { operation, attempts } = flaky([new TypeError("a"), down()]);
    await expect(withRetry(operation, opts)).rejects.toMatchObject({ code: "STORE_UNAVAILABLE" });
    expect(attempts).toEqual([1, 2]);
  });

  it("isRetryableError: STORE_UNAVAILABLE only, and not a fail-fast refusal", () => {
    expect(isRetryableError(down())).toBe(true);
    expect(isRetryableError(new CircuitOpenError(1))).toBe(false);
    expect(isRetryableError(new LeaseError("LEASE_EXPIRED", "a.b.c"))).toBe(false);
    expect(isRetryableError("STORE_UNAVAILABLE")).toBe(false);
  });
});

describe("RETRYABLE_OPERATIONS", () => {
  it("retries reads and idempotent writes only", () => {
    const retried = Object.entries(RETRYABLE_OPERATIONS)
      .filter(([, retry]) => retry)
      .map(([name]) => name)
      .sort();
    expect(retried).toEqual(
      [
        "enqueue",
        "enqueueMany",
        "publish",
        "extendLease",
        "subscribe",
        "unsubscribe",
        "listSubscriptions",
        "listDeadLetters",
        "listDeadLetterPage",
        "getDeadLetter",
        "selectDeadLetters",
        "traceOf",
        "traceByCorrelation",
        "queueStats",
        "listQueues",
        "listQueuePage",
        "browseQueue",
        "deleteQueue",
        "memoryStatus",
        "registerAgent",
        "heartbeat",
        "deregisterAgent",
        "listAgents",
      ].sort(),
    );
    for (const once of [
      "receive",
      "ack",
      "ackMany",
      "nack",
      "commit",
      "replayDeadLetters",
      "purgeDeadLetters",
      "ping",
    ])
      expect(RETRYABLE_OPERATIONS[once as keyof typeof RETRYABLE_OPERATIONS], once).toBe(false);
  });
});
