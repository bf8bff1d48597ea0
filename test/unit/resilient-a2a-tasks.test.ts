import { afterEach, describe, expect, it } from "vitest";
import { CircuitOpenError } from "../../runtime/resilience/circuit-breaker.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { ResilientStore } from "../../store/resilient-store.js";
import { a2aTasksOf, type A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import type { MessageStore } from "../../store/store.js";
import { expectBmnError } from "../conformance/helpers.js";
import { faultSwitch, type FaultSwitch } from "../harness/fault-switch.js";

const DAY = 86_400_000;

/** A memory store whose A2A task role fails as `set` says, recording every role call that reaches it. */
function faultyTasks(): { store: MessageStore; calls: string[]; set: FaultSwitch<A2aTaskStore>["set"] } {
  const inner = new InMemoryStore({ policy: { traceRetentionMs: 0 } });
  const { proxy: faulty, calls, set } = faultSwitch(inner.a2aTasks());
  const store = new Proxy(inner, {
    get(target, property, receiver) {
      if (property === "a2aTasks") return (): A2aTaskStore => faulty;
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === "function" ? (value as () => unknown).bind(target) : value;
    },
  });
  return { store, calls, set };
}

const opened: MessageStore[] = [];
afterEach(async () => {
  await Promise.allSettled(opened.splice(0).map((store) => store.close()));
});

function setup(timeoutMs = 2_000) {
  const faulty = faultyTasks();
  const resilient = new ResilientStore(faulty.store, {
    timeoutMs,
    retries: 2,
    breaker: { failureThreshold: 3, openMs: 60_000, halfOpenProbes: 1 },
    sleep: () => Promise.resolve(),
  });
  opened.push(resilient);
  const tasks = a2aTasksOf(resilient);
  if (tasks === undefined) throw new Error("the resilient store has no A2A task role");
  const count = (name: string): number => faulty.calls.filter((call) => call === name).length;
  return { ...faulty, resilient, tasks, count };
}

const append = (expectedSeq: number, eventId: string) => ({
  expectedSeq,
  eventId,
  eventJson: "{}",
  taskJson: `{"last":"${eventId}"}`,
  retentionMs: DAY,
  maxEvents: 100,
});

describe("the A2A task role behind ResilientStore", () => {
  it("is the guarded role, not the inner store's", () => {
    const { store, tasks } = setup();
    expect(tasks).not.toBe(a2aTasksOf(store));
  });

  it("fails a call that hangs with STORE_UNAVAILABLE after the timeout", async () => {
    const { tasks, set } = setup(50);
    set("hang");
    const error = await expectBmnError(() => tasks.readTask("t1"), "STORE_UNAVAILABLE");
    expect(error.message).toMatch(/timed out after 50 ms/);
  });

  it("counts its failures in the store's breaker, which then refuses store and role calls alike", async () => {
    const { resilient, tasks, set, count } = setup();
    set("down");
    // Three attempts of one retried read open the circuit (threshold 3).
    await expectBmnError(() => tasks.readTask("t1"), "STORE_UNAVAILABLE");
    expect(count("readTask")).toBe(3);
    expect(resilient.breakerState()).toBe("open");
    await expect(tasks.readTaskEvents("t1", 0, 10)).rejects.toBeInstanceOf(CircuitOpenError);
    await expect(resilient.ping()).rejects.toBeInstanceOf(CircuitOpenError);
    expect(count("readTaskEvents")).toBe(0);
  });

  it("retries an append whose answer was lost: the repeat is a duplicate and the event is logged once", async () => {
    const { tasks, set, count } = setup();
    await tasks.createTask("t1", "{}", DAY);
    set("lost-answer", 1);
    expect(await tasks.appendTaskEvent("t1", append(0, "e1"))).toEqual({ outcome: "duplicate", seq: 1 });
    expect(count("appendTaskEvent")).toBe(2);
    expect(await tasks.readTaskEvents("t1", 0, 10)).toHaveLength(1);
  });

  it("retries a create whose answer was lost: the repeat finds the task the lost attempt made", async () => {
    const { tasks, set, count } = setup();
    set("lost-answer", 1);
    expect(await tasks.createTask("t1", '{"v":1}', DAY)).toBe(false);
    expect(count("createTask")).toBe(2);
    expect(await tasks.readTask("t1")).toEqual({ json: '{"v":1}', seq: 0 });
  });

  it("does not retry deleting a push config (a repeat would report a delete that worked as unknown)", async () => {
    const { tasks, set, count } = setup();
    await tasks.createTask("t1", "{}", DAY);
    await tasks.putPushConfig("t1", "c1", "{}", 10);
    set("lost-answer", 1);
    await expectBmnError(() => tasks.deletePushConfig("t1", "c1"), "STORE_UNAVAILABLE");
    expect(count("deletePushConfig")).toBe(1);
    expect(await tasks.readPushConfig("t1", "c1")).toBeUndefined();
  });

  it("retries linking a remote task: the repeat answers the link the lost attempt stored", async () => {
    const { tasks, set, count } = setup();
    await tasks.createTask("t1", "{}", DAY);
    set("lost-answer", 1);
    expect(await tasks.linkRemoteTask("t1", '{"remote":"r1"}')).toBe('{"remote":"r1"}');
    expect(count("linkRemoteTask")).toBe(2);
  });
});
