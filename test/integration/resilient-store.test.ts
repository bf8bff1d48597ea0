import { afterEach, describe, expect, it } from "vitest";
import { CircuitOpenError } from "../../runtime/resilience/circuit-breaker.js";
import { ResilientStore } from "../../store/resilient-store.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import type { MessageStore } from "../../store/store.js";
import {
  expectBmnError,
  idsOf,
  msg,
  receiveAll,
  since,
  waitFor,
  untilPingable,
} from "../conformance/helpers.js";
import { startRedis } from "../harness/redis-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Forwards to `store`, counting the calls that reach it (each one is at least one Redis round trip). */
function counting(store: MessageStore): { store: MessageStore; calls: () => number } {
  let calls = 0;
  const proxy = new Proxy(store, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function") return value;
      const method = value as (...args: unknown[]) => unknown;
      return (...args: unknown[]): unknown => {
        calls++;
        return method.apply(target, args);
      };
    },
  });
  return { store: proxy, calls: () => calls };
}

const OPEN_MS = 200;

describe("ResilientStore over a real Redis", () => {
  it("fails fast while Redis is down, opens the circuit, and recovers through a half-open probe", async () => {
    const server = await startRedis({ appendOnly: true });
    cleanups.push(() => server.cleanup());
    const redis = await RedisStore.connect(
      { url: server.url },
      { commandTimeoutMs: 500, policy: { traceRetentionMs: 0 } },
    );
    const inner = counting(redis);
    const store = new ResilientStore(inner.store, {
      timeoutMs: 1_000,
      retries: 2,
      backoffBaseMs: 10,
      backoffMaxMs: 50,
      breaker: { failureThreshold: 3, openMs: OPEN_MS, halfOpenProbes: 1 },
    });
    cleanups.push(() => store.close());
    const transitions: string[] = [];
    store.onBreakerStateChange((to, from) => transitions.push(`${from}->${to}`));

    expect(store.kind).toBe("redis");
    expect(store.durable).toBe(true);
    const sent: string[] = [];
    for (let i = 0; i < 25; i++) sent.push((await store.enqueue("worker", msg())).id);

    await server.stop();

    // Each failure is STORE_UNAVAILABLE within the timeout; the third one opens the circuit.
    for (let failure = 1; failure <= 3; failure++) {
      expect(store.breakerState()).toBe("closed");
      const start = Date.now();
      const error = await expectBmnError(() => store.ping(), "STORE_UNAVAILABLE");
      expect(error).not.toBeInstanceOf(CircuitOpenError);
      expect(since(start)).toBeLessThan(1_500);
    }
    expect(store.breakerState()).toBe("open");
    expect(transitions).toEqual(["closed->open"]);

    // Open: calls are refused without a Redis round trip, and say when to come back.
    const roundTrips = inner.calls();
    const start = Date.now();
    const refused = await expectBmnError(() => store.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.subscribe("worker", "jobs.#"), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.receive("worker", { max: 1 }), "STORE_UNAVAILABLE");
    expect(since(start)).toBeLessThan(100);
    expect(inner.calls()).toBe(roundTrips);
    expect(refused).toBeInstanceOf(CircuitOpenError);
    // Administrative reads run outside the breaker: not refused by it, they reach Redis and fail on their own.
    const adminError = await expectBmnError(() => store.queueStats("worker"), "STORE_UNAVAILABLE");
    expect(adminError).not.toBeInstanceOf(CircuitOpenError);
    expect(inner.calls()).toBeGreaterThan(roundTrips);
    const adminRoundTrips = inner.calls();
    const retryAfter = store.retryAfterMs(refused);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(OPEN_MS);

    // After openMs it lets a probe through; Redis is still down, so the probe fails and it opens again.
    await waitFor(() => store.breakerState() === "half-open", 5_000, "the circuit to go half-open");
    await expectBmnError(() => store.ping(), "STORE_UNAVAILABLE");
    expect(inner.calls()).toBe(adminRoundTrips + 1);
    expect(store.breakerState()).toBe("open");

    // Redis comes back: once a half-open probe succeeds, the circuit closes and calls work again.
    await server.start();
    await untilPingable(store);
    expect(store.breakerState()).toBe("closed");
    expect(transitions.slice(0, 3)).toEqual(["closed->open", "open->half-open", "half-open->open"]);
    expect(transitions.at(-1)).toBe("half-open->closed");
    expect(store.retryAfterMs()).toBeUndefined();

    // Nothing accepted before the outage was lost.
    const after = (await store.enqueue("worker", msg())).id;
    expect(idsOf(await receiveAll(store, "worker"))).toEqual([...sent, after]);
  });
});
