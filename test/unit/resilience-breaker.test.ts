import { describe, expect, it } from "vitest";
import { LeaseError, StoreUnavailableError, ValidationError } from "../../core/errors.js";
import {
  CircuitBreaker,
  CircuitOpenError,
  retryAfterMsOf,
  type CircuitBreakerOptions,
  type CircuitState,
} from "../../runtime/resilience/circuit-breaker.js";

/** A breaker on a fake clock, with every transition recorded. */
function setup(options: CircuitBreakerOptions = {}): {
  breaker: CircuitBreaker;
  clock: { now: number };
  transitions: string[];
} {
  const clock = { now: 1_000_000 };
  const breaker = new CircuitBreaker({
    failureThreshold: 3,
    openMs: 1_000,
    ...options,
    now: () => clock.now,
  });
  const transitions: string[] = [];
  breaker.onStateChange((to, from) => transitions.push(`${from}->${to}`));
  return { breaker, clock, transitions };
}

const unavailable = (): Promise<never> => Promise.reject(new StoreUnavailableError("redis is down"));
const ok = (): Promise<string> => Promise.resolve("ok");

async function fail(breaker: CircuitBreaker, times: number): Promise<void> {
  for (let i = 0; i < times; i++) await expect(breaker.execute(unavailable)).rejects.toThrow("redis is down");
}

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

describe("CircuitBreaker", () => {
  it("opens after failureThreshold consecutive STORE_UNAVAILABLE failures", async () => {
    const { breaker, transitions } = setup();
    await fail(breaker, 2);
    expect(breaker.state).toBe("closed");
    await fail(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(transitions).toEqual(["closed->open"]);
  });

  it("fails fast while open: no call, STORE_UNAVAILABLE carrying the time left", async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.now += 400;
    let called = false;
    const error = await breaker
      .execute(() => {
        called = true;
        return ok();
      })
      .catch((caught: unknown) => caught);
    expect(called).toBe(false);
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(StoreUnavailableError);
    expect(error).toMatchObject({ code: "STORE_UNAVAILABLE", retryAfterMs: 600, status: 503 });
    expect(retryAfterMsOf(error)).toBe(600);
    expect(breaker.retryAfterMs).toBe(600);
  });

  it("a success resets the count of consecutive failures", async () => {
    const { breaker } = setup();
    await fail(breaker, 2);
    await breaker.execute(ok);
    await fail(breaker, 2);
    expect(breaker.state).toBe("closed");
  });

  it("client errors never trip it (and do not reset the failure count either)", async () => {
    const { breaker } = setup();
    await fail(breaker, 2);
    const clientErrors = [
      new LeaseError("LEASE_NOT_FOUND", "a.b.c"),
      new LeaseError("LEASE_EXPIRED", "a.b.c"),
      new ValidationError("bad", { code: "INVALID_ARGUMENT" }),
      new ValidationError("bad message"),
    ];
    for (let i = 0; i < 20; i++) {
      const error = clientErrors[i % clientErrors.length];
      await expect(breaker.execute(() => Promise.reject(error ?? new Error("?")))).rejects.toBe(error);
    }
    expect(breaker.state).toBe("closed");
    await fail(breaker, 1);
    expect(breaker.state).toBe("open");
  });

  it("goes half-open after openMs; one probe's success closes it", async () => {
    const { breaker, clock, transitions } = setup();
    await fail(breaker, 3);
    clock.now += 999;
    expect(breaker.state).toBe("open");
    clock.now += 1;
    expect(breaker.state).toBe("half-open");
    expect(breaker.retryAfterMs).toBe(0);
    await expect(breaker.execute(ok)).resolves.toBe("ok");
    expect(breaker.state).toBe("closed");
    expect(transitions).toEqual(["closed->open", "open->half-open", "half-open->closed"]);
  });

  it("half-open admits only halfOpenProbes calls; the rest fail fast", async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.now += 1_000;
    const probe = deferred<string>();
    const probing = breaker.execute(() => probe.promise);
    let called = false;
    const refused = await breaker
      .execute(() => {
        called = true;
        return ok();
      })
      .catch((error: unknown) => error);
    expect(called).toBe(false);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(retryAfterMsOf(refused)).toBeGreaterThan(0);
    probe.resolve("probed");
    await expect(probing).resolves.toBe("probed");
    expect(breaker.state).toBe("closed");
  });

  it("a failed probe opens it again for another openMs", async () => {
    const { breaker, clock, transitions } = setup();
    await fail(breaker, 3);
    clock.now += 1_000;
    await fail(breaker, 1);
    expect(breaker.state).toBe("open");
    expect(breaker.retryAfterMs).toBe(1_000);
    clock.now += 1_000;
    expect(breaker.state).toBe("half-open");
    expect(transitions).toEqual(["closed->open", "open->half-open", "half-open->open", "open->half-open"]);
  });

  it("with halfOpenProbes 2 it takes two successes to close", async () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2 });
    await fail(breaker, 3);
    clock.now += 1_000;
    const first = deferred<string>();
    const second = deferred<string>();
    const probes = [breaker.execute(() => first.promise), breaker.execute(() => second.promise)];
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    first.resolve("1");
    await probes[0];
    expect(breaker.state).toBe("half-open");
    // The first probe's slot is not handed out again: two successes are needed, and the second is pending.
    await expect(breaker.execute(ok)).rejects.toBeInstanceOf(CircuitOpenError);
    second.resolve("2");
    await probes[1];
    expect(breaker.state).toBe("closed");
  });

  it("a probe that ends in a client error frees its slot and leaves it half-open", async () => {
    const { breaker, clock } = setup();
    await fail(breaker, 3);
    clock.now += 1_000;
    await expect(
      breaker.execute(() => Promise.reject(new LeaseError("LEASE_NOT_FOUND", "a.b.c"))),
    ).rejects.toMatchObject({ code: "LEASE_NOT_FOUND" });
    expect(breaker.state).toBe("half-open");
    await breaker.execute(ok);
    expect(breaker.state).toBe("closed");
  });

  it("outcomes of calls admitted before a transition are ignored", async () => {
    const { breaker, clock } = setup();
    const slowFailure = deferred<string>();
    const slowSuccess = deferred<string>();
    const slow = [breaker.execute(() => slowFailure.promise), breaker.execute(() => slowSuccess.promise)];
    await fail(breaker, 3);
    expect(breaker.state).toBe("open");
    // A call admitted while closed failing now does not restart the open period...
    clock.now += 500;
    slowFailure.reject(new StoreUnavailableError("late"));
    await expect(slow[0]).rejects.toThrow("late");
    expect(breaker.retryAfterMs).toBe(500);
    // ...and one succeeding while half-open does not close it.
    clock.now += 500;
    expect(breaker.state).toBe("half-open");
    slowSuccess.resolve("late");
    await slow[1];
    expect(breaker.state).toBe("half-open");
  });

  it("counts only what isFailure says", async () => {
    const { breaker } = setup({ failureThreshold: 1, isFailure: (error) => error instanceof TypeError });
    await fail(breaker, 3);
    expect(breaker.state).toBe("closed");
    await expect(breaker.execute(() => Promise.reject(new TypeError("x")))).rejects.toThrow("x");
    expect(breaker.state).toBe("open");
  });

  it("listeners can be removed, and one that throws does not break calls", async () => {
    const { breaker, clock } = setup({ failureThreshold: 1 });
    const seen: CircuitState[] = [];
    const remove = breaker.onStateChange((to) => seen.push(to));
    breaker.onStateChange(() => {
      throw new Error("metrics bug");
    });
    await fail(breaker, 1);
    remove();
    clock.now += 1_000;
    await breaker.execute(ok);
    expect(seen).toEqual(["open"]);
    expect(breaker.state).toBe("closed");
  });

  it("rejects nonsense options", () => {
    expect(() => new CircuitBreaker({ failureThreshold: 0 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ halfOpenProbes: 1.5 })).toThrow(RangeError);
    expect(() => new CircuitBreaker({ openMs: -1 })).toThrow(RangeError);
  });
});
