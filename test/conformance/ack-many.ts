import { describe, expect, it } from "vitest";
import { outboxQueueName, type DomainName } from "../../core/names.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { expectBmnError, FAST, idsOf, msg, receiveAll, receiveOne, useStores, waitFor } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const OUTBOX = outboxQueueName("other" as DomainName);

/** `ackMany`: a batch of acks with an outcome per lease, equal to one `ack` per lease in list order. */
export function describeAckMany(factory: StoreFactory): void {
  const open = useStores(factory);

  /** Queues `count` messages for `agent` and leases them all; returns the deliveries in queue order. */
  async function leased(
    store: MessageStore,
    agent: string,
    count: number,
    leaseMs = 60_000,
  ): Promise<Delivery[]> {
    const messages = Array.from({ length: count }, () => msg());
    for (const message of messages) await store.enqueue(agent, message);
    const deliveries = await store.receive(agent, { max: count, leaseMs });
    expect(idsOf(deliveries)).toEqual(messages.map((message) => message.id));
    return deliveries;
  }

  describe("ackMany", () => {
    it("acks several leases of several queues at once, with the trace events and dedupe of single acks", async () => {
      const store = await open();
      const worker = await leased(store, "worker", 3);
      const other = await leased(store, "other", 2);
      const leaseIds = [...worker, ...other].map((delivery) => delivery.leaseId);

      expect(await store.ackMany(leaseIds, { actor: "batcher" })).toEqual({ acked: leaseIds, failed: [] });

      for (const agent of ["worker", "other"])
        expect(await store.queueStats(agent)).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
      expect(await store.receive("worker", { waitMs: 0 })).toEqual([]);
      const [first] = worker;
      if (first === undefined) throw new Error("no delivery");
      // Trace writes are best effort and not awaited by the call, as for `ack`.
      const acked = await waitFor(
        async () => (await store.traceOf(first.message.id)).find((event) => event.kind === "acked"),
        3_000,
        "the acked trace event",
      );
      expect(acked).toMatchObject({ actor: "batcher", agent: "worker" });
      // Acked ids are remembered for the dedupe window, as after a single ack.
      expect(await store.enqueue("worker", first.message)).toEqual({ id: first.message.id, duplicate: true });
      // Settled leases are gone, as for `ack`.
      await expectBmnError(() => store.ack(leaseIds[0] ?? ""), "LEASE_NOT_FOUND");
    });

    it("reports each lease that does not hold with ack's code, acks the valid ones and changes nothing else", async () => {
      const store = await open(FAST);
      const [valid, again] = await leased(store, "worker", 2);
      if (valid === undefined || again === undefined) throw new Error("no delivery");
      // An expired lease: it ran out and the message went to another consumer.
      const lapsing = msg();
      await store.enqueue("lapsing", lapsing);
      const stale = await receiveOne(store, "lapsing", { leaseMs: 50 });
      const fresh = await receiveOne(store, "lapsing", { waitMs: 3_000, leaseMs: 60_000 });
      expect(fresh.attempt).toBe(2);
      // Unknown leases: one already settled, one for a message never queued.
      const settled = (await leased(store, "worker", 1))[0];
      if (settled === undefined) throw new Error("no delivery");
      await store.ack(settled.leaseId);
      const neverIssued = `worker.${msg().id}.1`;

      const result = await store.ackMany([
        valid.leaseId,
        stale.leaseId,
        settled.leaseId,
        again.leaseId,
        neverIssued,
        valid.leaseId,
      ]);
      expect(result).toEqual({
        acked: [valid.leaseId, again.leaseId],
        failed: [
          { leaseId: stale.leaseId, code: "LEASE_EXPIRED" },
          { leaseId: settled.leaseId, code: "LEASE_NOT_FOUND" },
          { leaseId: neverIssued, code: "LEASE_NOT_FOUND" },
          // Given twice: the second is what a second single ack would find.
          { leaseId: valid.leaseId, code: "LEASE_NOT_FOUND" },
        ],
      });
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
      // The redelivered message is untouched: still held by the fresh lease, which still settles.
      expect(await store.queueStats("lapsing")).toMatchObject({ depth: 0, inFlight: 1, deadLettered: 0 });
      expect(await store.ackMany([fresh.leaseId])).toEqual({ acked: [fresh.leaseId], failed: [] });
      expect(await store.queueStats("lapsing")).toMatchObject({ depth: 0, inFlight: 0 });
    });

    it("acks leases of an outbox queue bmn.out.<domain>", async () => {
      const store = await open();
      const deliveries = await leased(store, OUTBOX, 4);
      const leaseIds = deliveries.map((delivery) => delivery.leaseId);
      expect(await store.queueStats(OUTBOX)).toMatchObject({ inFlight: 4 });
      expect(await store.ackMany(leaseIds)).toEqual({ acked: leaseIds, failed: [] });
      expect(await store.queueStats(OUTBOX)).toMatchObject({ depth: 0, inFlight: 0, deadLettered: 0 });
      expect(await receiveAll(store, OUTBOX)).toEqual([]);
    });

    it("an empty list is a no-op", async () => {
      const store = await open();
      const [held] = await leased(store, "worker", 1);
      expect(await store.ackMany([])).toEqual({ acked: [], failed: [] });
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1 });
      await store.ack(held?.leaseId ?? "");
    });

    it("a malformed lease id is INVALID_ARGUMENT naming its place in the list, and nothing is acked", async () => {
      const store = await open();
      const [held] = await leased(store, "worker", 1);
      if (held === undefined) throw new Error("no delivery");
      for (const bad of ["", "not a lease", "worker..1", "'; DROP TABLE leases; --", 42]) {
        await expectBmnError(
          () => store.ackMany([held.leaseId, bad as string]),
          "INVALID_ARGUMENT",
          "leaseIds.1",
          JSON.stringify(bad),
        );
      }
      await expectBmnError(
        () => store.ackMany("worker.x.1" as unknown as string[]),
        "INVALID_ARGUMENT",
        "leaseIds",
      );
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 1 });
      expect(await store.ackMany([held.leaseId])).toEqual({ acked: [held.leaseId], failed: [] });
    });

    it("with tx, the acks are applied at commit", async () => {
      const store = await open();
      const deliveries = await leased(store, "worker", 2);
      const leaseIds = deliveries.map((delivery) => delivery.leaseId);
      const tx = await store.beginTransaction();
      await store.ackMany(leaseIds, { tx });
      expect(await store.queueStats("worker")).toMatchObject({ inFlight: 2 });
      await store.commit(tx);
      expect(await store.queueStats("worker")).toMatchObject({ depth: 0, inFlight: 0 });
    });
  });
}

/** `enqueueMany`: many messages to many queues in one atomic step, each with the answer `enqueue` gives. */
export function describeEnqueueMany(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("enqueueMany", () => {
    it("queues to several queues at once, deduped like single enqueues, with their trace events", async () => {
      const store = await open();
      const [a, b, seen] = [msg(), msg(), msg()];
      await store.enqueue("second", seen);
      const results = await store.enqueueMany(
        [
          { queue: "first", message: a },
          { queue: "second", message: b },
          { queue: "second", message: seen },
          { queue: OUTBOX, message: a },
        ],
        { actor: "gateway:test" },
      );
      expect(results).toEqual([
        { id: a.id, duplicate: false },
        { id: b.id, duplicate: false },
        { id: seen.id, duplicate: true },
        { id: a.id, duplicate: false },
      ]);
      expect(idsOf(await receiveAll(store, "first"))).toEqual([a.id]);
      expect(idsOf(await receiveAll(store, "second"))).toEqual([seen.id, b.id]);
      expect(idsOf(await receiveAll(store, OUTBOX))).toEqual([a.id]);
      const enqueued = await waitFor(
        async () => (await store.traceOf(b.id)).find((event) => event.kind === "enqueued"),
        3_000,
        "the enqueued trace event",
      );
      expect(enqueued).toMatchObject({ actor: "gateway:test", agent: "second" });
      expect(await store.enqueueMany([])).toEqual([]);
    });

    it("refuses the whole batch when one queue name is invalid, queuing none", async () => {
      const store = await open();
      const first = msg();
      await expectBmnError(
        () =>
          store.enqueueMany([
            { queue: "fine", message: first },
            { queue: "Not Valid", message: msg() },
          ]),
        "INVALID_ADDRESS",
      );
      expect(await store.receive("fine", { waitMs: 0 })).toEqual([]);
    });
  });
}
