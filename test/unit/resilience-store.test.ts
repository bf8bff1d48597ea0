import { afterEach, describe, expect, it, vi } from "vitest";
import { CircuitOpenError } from "../../runtime/resilience/circuit-breaker.js";
import { ResilientStore, type ResilientStoreOptions } from "../../store/resilient-store.js";
import type { StoreOperation } from "../../store/store-operations.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import type { MessageStore } from "../../store/store.js";
import { expectBmnError, idsOf, msg, receiveAll } from "../conformance/helpers.js";
import { faultSwitch, type FaultSwitch } from "../harness/fault-switch.js";

/** An in-memory store behind a switch that injects backend failures, counting every call that reaches it. */
function faultyStore(): { store: MessageStore; calls: string[]; set: FaultSwitch<MessageStore>["set"] } {
  const { proxy, calls, set } = faultSwitch<MessageStore>(
    new InMemoryStore({ policy: { traceRetentionMs: 0 } }),
    ["close"],
  );
  return { store: proxy, calls, set };
}

const opened: MessageStore[] = [];
afterEach(async () => {
  vi.useRealTimers();
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

/** A ResilientStore over a faulty in-memory store, on a fake clock, with recorded (instant) retry pauses. */
function setup(options: ResilientStoreOptions = {}): ReturnType<typeof faultyStore> & {
  resilient: ResilientStore;
  clock: { now: number };
  slept: number[];
  transitions: string[];
} {
  const faulty = faultyStore();
  const clock = { now: 1_000_000 };
  const slept: number[] = [];
  const resilient = new ResilientStore(faulty.store, {
    retries: 2,
    backoffBaseMs: 10,
    backoffMaxMs: 40,
    breaker: { failureThreshold: 3, openMs: 1_000, halfOpenProbes: 1 },
    now: () => clock.now,
    sleep: (ms) => {
      slept.push(ms);
      return Promise.resolve();
    },
    ...options,
  });
  opened.push(resilient);
  const transitions: string[] = [];
  resilient.onBreakerStateChange((to, from) => transitions.push(`${from}->${to}`));
  return { ...faulty, resilient, clock, slept, transitions };
}

const count = (calls: string[], name: StoreOperation): number => calls.filter((call) => call === name).length;

describe("ResilientStore", () => {
  it("delegates kind and durable", () => {
    const { resilient } = setup();
    expect(resilient.kind).toBe("memory");
    expect(resilient.durable).toBe(false);
  });

  it("retries a read on STORE_UNAVAILABLE, pausing with backoff, and answers once it recovers", async () => {
    const { resilient, calls, set, slept } = setup();
    set("down", 2);
    await expect(resilient.queueStats("worker")).resolves.toMatchObject({ agent: "worker", depth: 0 });
    expect(count(calls, "queueStats")).toBe(3);
    expect(slept).toHaveLength(2);
    expect(slept[0]).toBeLessThanOrEqual(10);
    expect(slept[1]).toBeLessThanOrEqual(20);
  });

  it("gives up after `retries` retries with STORE_UNAVAILABLE", async () => {
    const { resilient, calls, set } = setup({ breaker: { failureThreshold: 100 } });
    set("down");
    await expectBmnError(() => resilient.listQueues(), "STORE_UNAVAILABLE");
    expect(count(calls, "listQueues")).toBe(3);
  });

  it("a retried enqueue whose first answer was lost queues the message exactly once", async () => {
    const { resilient, calls, set } = setup();
    const message = msg();
    set("lost-answer", 1);
    const result = await resilient.enqueue("worker", message);
    expect(count(calls, "enqueue")).toBe(2);
    // The repeat was deduped by id: it reports the copy the lost attempt queued.
    expect(result).toEqual({ id: message.id, duplicate: true });
    expect(idsOf(await receiveAll(resilient, "worker"))).toEqual([message.id]);
  });

  it.each<[StoreOperation, (store: MessageStore) => Promise<unknown>]>([
    ["receive", (store) => store.receive("worker", { max: 1 })],
    ["ack", (store) => store.ack("worker.abc.1")],
    ["nack", (store) => store.nack("worker.abc.1")],
    ["commit", (store) => store.commit("tx-unknown")],
    ["replayDeadLetters", (store) => store.replayDeadLetters({ agent: "worker" })],
    ["purgeDeadLetters", (store) => store.purgeDeadLetters({ agent: "worker" })],
    ["ping", (store) => store.ping()],
  ])("does not retry %s after STORE_UNAVAILABLE (the outcome may be ambiguous)", async (name, call) => {
    const { resilient, calls, set, slept } = setup({ breaker: { failureThreshold: 100 } });
    set("down");
    await expectBmnError(() => call(resilient), "STORE_UNAVAILABLE");
    expect(count(calls, name)).toBe(1);
    expect(slept).toEqual([]);
  });

  it("an override can turn retrying off for an operation", async () => {
    const { resilient, calls, set } = setup({ retryable: { enqueue: false } });
    set("down");
    await expectBmnError(() => resilient.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    expect(count(calls, "enqueue")).toBe(1);
  });

  it("client errors pass straight through: no retry, and they never trip the breaker", async () => {
    const { resilient, calls } = setup();
    for (let i = 0; i < 10; i++) {
      await expectBmnError(() => resilient.ack(`worker.nope${i}.1`), "LEASE_NOT_FOUND");
      await expectBmnError(() => resilient.queueStats("Not A Name!"), "INVALID_ADDRESS");
    }
    expect(count(calls, "ack")).toBe(10);
    expect(count(calls, "queueStats")).toBe(10);
    expect(resilient.breakerState()).toBe("closed");
  });

  it("opens after failureThreshold failures, then fails fast without reaching the backend", async () => {
    const { resilient, calls, set, clock } = setup({ retries: 0 });
    set("down");
    for (let i = 0; i < 3; i++) await expectBmnError(() => resilient.ping(), "STORE_UNAVAILABLE");
    expect(resilient.breakerState()).toBe("open");
    const before = calls.length;
    clock.now += 250;
    const error = await expectBmnError(() => resilient.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(calls.length).toBe(before);
    expect(resilient.retryAfterMs(error)).toBe(750);
    expect(resilient.retryAfterMs()).toBe(750);
  });

  it.each<[StoreOperation, (store: MessageStore) => Promise<unknown>]>([
    ["listQueues", (store) => store.listQueues()],
    ["listQueuePage", (store) => store.listQueuePage()],
    ["queueStats", (store) => store.queueStats("worker")],
    ["listDeadLetterPage", (store) => store.listDeadLetterPage()],
    ["listAgents", (store) => store.listAgents()],
    ["traceOf", (store) => store.traceOf("m-1")],
    ["purgeDeadLetters", (store) => store.purgeDeadLetters({})],
  ])("a failing or slow administrative %s never opens the breaker for sends", async (name, call) => {
    const { resilient, set, calls } = setup({ retries: 0 });
    set("down");
    for (let i = 0; i < 10; i++) await expectBmnError(() => call(resilient), "STORE_UNAVAILABLE");
    expect(count(calls, name)).toBe(10);
    expect(resilient.breakerState()).toBe("closed");
    set("up");
    await expect(resilient.enqueue("worker", msg())).resolves.toMatchObject({ duplicate: false });
  });

  it("an open circuit stops the retrying at once", async () => {
    const { resilient, calls, set, slept } = setup({ retries: 10, breaker: { failureThreshold: 2 } });
    set("down");
    const error = await expectBmnError(
      () => resilient.registerAgent({ name: "worker" }),
      "STORE_UNAVAILABLE",
    );
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(count(calls, "registerAgent")).toBe(2);
    expect(slept).toHaveLength(2);
  });

  it("after openMs a probe goes through; its success closes the circuit", async () => {
    const { resilient, set, clock, transitions } = setup({ retries: 0 });
    set("down");
    for (let i = 0; i < 3; i++) await expectBmnError(() => resilient.ping(), "STORE_UNAVAILABLE");
    clock.now += 1_000;
    expect(resilient.breakerState()).toBe("half-open");
    expect(resilient.retryAfterMs()).toBeUndefined();
    // A failed probe opens it again.
    await expectBmnError(() => resilient.subscribe("worker", "a.b"), "STORE_UNAVAILABLE");
    expect(resilient.breakerState()).toBe("open");
    clock.now += 1_000;
    set("up");
    await resilient.ping();
    expect(resilient.breakerState()).toBe("closed");
    expect(transitions).toEqual([
      "closed->open",
      "open->half-open",
      "half-open->open",
      "open->half-open",
      "half-open->closed",
    ]);
    await expect(resilient.enqueue("worker", msg())).resolves.toMatchObject({ duplicate: false });
  });

  it("a long-poll does not probe a half-open circuit itself: a ping probes first", async () => {
    const { resilient, calls, set, clock } = setup({ retries: 0 });
    const message = msg();
    await resilient.enqueue("worker", message);
    set("down");
    for (let i = 0; i < 3; i++) await expectBmnError(() => resilient.ping(), "STORE_UNAVAILABLE");
    clock.now += 1_000;
    set("up");
    calls.length = 0;
    const got = await resilient.receive("worker", { waitMs: 5_000 });
    expect(idsOf(got)).toEqual([message.id]);
    expect(calls).toEqual(["ping", "receive"]);
    expect(resilient.breakerState()).toBe("closed");
  });

  it("transaction bookkeeping stays local while the circuit is open; commit waits for it to close", async () => {
    const { resilient, set, clock } = setup({ retries: 0 });
    set("down");
    for (let i = 0; i < 3; i++) await expectBmnError(() => resilient.ping(), "STORE_UNAVAILABLE");
    set("up");
    const tx = await resilient.beginTransaction();
    const message = msg();
    await resilient.enqueue("worker", message, { tx });
    const savepoint = await resilient.savepoint(tx);
    await resilient.enqueue("worker", msg(), { tx });
    await resilient.rollbackToSavepoint(tx, savepoint);
    const refused = await expectBmnError(() => resilient.commit(tx), "STORE_UNAVAILABLE");
    expect(refused).toBeInstanceOf(CircuitOpenError);
    expect(resilient.breakerState()).toBe("open");
    // The refused commit never reached the store, so the transaction is intact.
    clock.now += 1_000;
    await resilient.commit(tx);
    expect(idsOf(await receiveAll(resilient, "worker"))).toEqual([message.id]);
    const other = await resilient.beginTransaction();
    await resilient.rollback(other);
  });

  it("each attempt has its own timeout; receive's includes its waitMs", async () => {
    vi.useFakeTimers();
    const { resilient, set, calls } = setup({ timeoutMs: 100, breaker: { failureThreshold: 100 } });
    set("hang");
    const stats = resilient.queueStats("worker").catch((error: unknown) => error);
    await vi.advanceTimersByTimeAsync(299);
    expect(count(calls, "queueStats")).toBe(3);
    await vi.advanceTimersByTimeAsync(1);
    expect(await stats).toMatchObject({
      code: "STORE_UNAVAILABLE",
      message: "store call timed out after 100 ms",
    });

    let settled = false;
    const received = resilient.receive("worker", { waitMs: 1_000 }).catch((error: unknown) => error);
    void received.then(() => (settled = true));
    await vi.advanceTimersByTimeAsync(1_099);
    expect(settled).toBe(false);
    await vi.advanceTimersByTimeAsync(1);
    expect(await received).toMatchObject({ message: "store call timed out after 1100 ms" });
    expect(count(calls, "receive")).toBe(1);
  });

  it("rejects nonsense options", () => {
    const inner = new InMemoryStore();
    expect(() => new ResilientStore(inner, { timeoutMs: 0 })).toThrow(RangeError);
    expect(() => new ResilientStore(inner, { retries: -1 })).toThrow(RangeError);
    expect(() => new ResilientStore(inner, { breaker: { failureThreshold: 0 } })).toThrow(RangeError);
  });
});
