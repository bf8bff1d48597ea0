import { describe, expect, it } from "vitest";
import { BmnError } from "../../core/errors.js";
import { ConcurrencyLimiter } from "../../runtime/resilience/concurrency-limiter.js";
import { OverloadedError } from "../../runtime/resilience/overloaded-error.js";

interface Deferred<T> {
  promise: Promise<T>;
  resolve: (value: T) => void;
  reject: (error: Error) => void;
}

/** A promise settled from outside. */
function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => undefined;
  let reject: (error: Error) => void = () => undefined;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every pending promise callback run (one macrotask turn; no timers involved). */
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tasks that each wait for their own gate; records concurrency. */
function gatedTasks(count: number): {
  gates: Deferred<void>[];
  started: number[];
  task: (index: number) => () => Promise<number>;
  peak: () => number;
} {
  const gates = Array.from({ length: count }, () => deferred());
  const started: number[] = [];
  let running = 0;
  let peak = 0;
  return {
    gates,
    started,
    peak: () => peak,
    task: (index) => async () => {
      started.push(index);
      running++;
      peak = Math.max(peak, running);
      try {
        await gates[index]?.promise;
        return index;
      } finally {
        running--;
      }
    },
  };
}

describe("ConcurrencyLimiter", () => {
  it("never runs more than maxInFlight at once under a burst, and runs everything", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 3, maxQueued: 100 });
    const { gates, started, task, peak } = gatedTasks(50);
    const results = gates.map((_, index) => limiter.run(task(index)));
    await settle();
    expect(started).toEqual([0, 1, 2]);
    expect(limiter.inFlight).toBe(3);
    expect(limiter.queued).toBe(47);
    // Release in a scrambled order; each release lets exactly one queued task in.
    const order = gates.map((_, index) => (index * 7) % 50);
    for (const index of order) {
      gates[index]?.resolve();
      await settle();
      expect(limiter.inFlight).toBeLessThanOrEqual(3);
    }
    expect(await Promise.all(results)).toEqual(gates.map((_, index) => index));
    expect(peak()).toBe(3);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  it("queued work starts in FIFO order as slots free", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 2, maxQueued: 5 });
    const { gates, started, task } = gatedTasks(5);
    const results = gates.map((_, index) => limiter.run(task(index)));
    await settle();
    expect(started).toEqual([0, 1]);
    gates[1]?.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2]);
    gates[0]?.resolve();
    await settle();
    expect(started).toEqual([0, 1, 2, 3]);
    for (const gate of gates) gate.resolve();
    await Promise.all(results);
    expect(started).toEqual([0, 1, 2, 3, 4]);
  });

  it("refuses beyond maxInFlight + maxQueued with OVERLOADED (429), without running it", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 2, maxQueued: 3 });
    const { gates, started, task } = gatedTasks(6);
    const accepted = gates.slice(0, 5).map((_, index) => limiter.run(task(index)));
    let ran = false;
    const refused = await limiter
      .run(() => {
        ran = true;
        return Promise.resolve(0);
      })
      .catch((error: unknown) => error);
    expect(ran).toBe(false);
    expect(refused).toBeInstanceOf(OverloadedError);
    expect(refused).toBeInstanceOf(BmnError);
    expect(refused).toMatchObject({ code: "OVERLOADED", status: 429 });
    expect((refused as BmnError).toJSON()).toMatchObject({ errorCode: "OVERLOADED" });
    // Once a slot frees, there is room again.
    gates[0]?.resolve();
    await settle();
    const late = limiter.run(task(5));
    for (const gate of gates) gate.resolve();
    await Promise.all([...accepted, late]);
    expect(started.sort()).toEqual([0, 1, 2, 3, 4, 5]);
  });

  it("maxQueued 0 refuses as soon as every slot is busy", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxQueued: 0 });
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    await expect(limiter.run(() => Promise.resolve())).rejects.toMatchObject({ code: "OVERLOADED" });
    gate.resolve();
    await first;
    await expect(limiter.run(() => Promise.resolve("again"))).resolves.toBe("again");
  });

  it("a failing task (rejected or thrown) frees its slot and its error reaches the caller", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxQueued: 2 });
    const gate = deferred();
    const failing = limiter.run(async () => {
      await gate.promise;
      throw new Error("task failed");
    });
    const throwing = limiter.run(() => {
      throw new Error("thrown synchronously");
    });
    const after = limiter.run(() => Promise.resolve("after"));
    gate.resolve();
    await expect(failing).rejects.toThrow("task failed");
    await expect(throwing).rejects.toThrow("thrown synchronously");
    await expect(after).resolves.toBe("after");
    expect(limiter.inFlight).toBe(0);
  });

  it("a queued call whose signal aborts leaves the queue without running", async () => {
    const limiter = new ConcurrencyLimiter({ maxInFlight: 1, maxQueued: 2 });
    const gate = deferred();
    const first = limiter.run(() => gate.promise);
    const controller = new AbortController();
    let ran = false;
    const dropped = limiter.run(
      () => {
        ran = true;
        return Promise.resolve();
      },
      { signal: controller.signal },
    );
    expect(limiter.queued).toBe(1);
    controller.abort();
    await expect(dropped).rejects.toMatchObject({ name: "AbortError" });
    expect(limiter.queued).toBe(0);
    gate.resolve();
    await first;
    expect(ran).toBe(false);
    expect(limiter.inFlight).toBe(0);
    await expect(limiter.run(() => Promise.resolve(1), { signal: controller.signal })).rejects.toMatchObject({
      name: "AbortError",
    });
  });

  it("rejects nonsense options", () => {
    expect(() => new ConcurrencyLimiter({ maxInFlight: 0, maxQueued: 1 })).toThrow(RangeError);
    expect(() => new ConcurrencyLimiter({ maxInFlight: 1, maxQueued: -1 })).toThrow(RangeError);
  });
});
