import { describe, expect, it } from "vitest";
import { createMessage } from "../../core/envelope.js";
import { valueOf } from "../../operator/external-metrics/store-metrics-source.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";

// What each External metric the operator serves reads from a (real, in-memory) store: depths add up over the
// queues, the oldest age is the largest head age in seconds.

const NOW = Date.parse("2026-01-01T00:10:00.000Z");
const sentAt = (secondsAgo: number) => new Date(NOW - secondsAgo * 1_000).toISOString();

async function storeWithBacklog(): Promise<InMemoryStore> {
  const store = new InMemoryStore({ domain: "team-a" });
  await store.enqueue("worker", createMessage({ type: "t", to: "worker", time: sentAt(90) }));
  await store.enqueue("worker", createMessage({ type: "t", to: "worker", time: sentAt(5) }));
  await store.enqueue("bmn.out.site-b", createMessage({ type: "t", to: "x@site-b", time: sentAt(12.5) }));
  await store.enqueue("bmn.out.site-c", createMessage({ type: "t", to: "x@site-c", time: sentAt(40.25) }));
  await store.enqueue("bmn.out.site-c", createMessage({ type: "t", to: "y@site-c", time: sentAt(1) }));
  return store;
}

describe("the values of the operator's External metrics", () => {
  it("reads ready depth, in-flight count and the head's age of an agent queue", async () => {
    const store = await storeWithBacklog();
    expect(await valueOf(store, "bmn_queue_ready_depth", ["worker"], NOW)).toBe(2);
    expect(await valueOf(store, "bmn_queue_oldest_age_seconds", ["worker"], NOW)).toBe(90);
    const [leased] = await store.receive("worker", { max: 1, leaseMs: 60_000 });
    expect(leased?.message.time).toBe(sentAt(90));
    expect(await valueOf(store, "bmn_queue_in_flight", ["worker"], NOW)).toBe(1);
    // The leased message no longer waits: the next ready one is 5 s old.
    expect(await valueOf(store, "bmn_queue_oldest_age_seconds", ["worker"], NOW)).toBe(5);
    await store.close();
  });

  it("sums outbox depths and takes the oldest head over all outboxes", async () => {
    const store = await storeWithBacklog();
    const outboxes = ["bmn.out.site-b", "bmn.out.site-c"];
    expect(await valueOf(store, "bmn_outbox_ready_depth", outboxes, NOW)).toBe(3);
    expect(await valueOf(store, "bmn_outbox_oldest_age_seconds", outboxes, NOW)).toBe(40.25);
    await store.close();
  });

  it("answers an age of 0 for an empty queue and for a message sent in the future", async () => {
    const store = new InMemoryStore({ domain: "team-a" });
    expect(await valueOf(store, "bmn_queue_oldest_age_seconds", ["idle"], NOW)).toBe(0);
    await store.enqueue("skewed", createMessage({ type: "t", to: "skewed", time: sentAt(-30) }));
    expect(await valueOf(store, "bmn_queue_oldest_age_seconds", ["skewed"], NOW)).toBe(0);
    await store.close();
  });
});
