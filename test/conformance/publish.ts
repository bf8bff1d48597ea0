import { describe, expect, it } from "vitest";
import { expectBmnError, idsOf, msg, receiveAll, useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const sorted = (values: readonly string[]): string[] => [...values].sort();

export function describePublish(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("subscriptions and publish", () => {
    it("fans out to every agent whose pattern matches, with * (one segment) and # (zero or more)", async () => {
      const store = await open();
      await store.subscribe("exact", "orders.created");
      await store.subscribe("star", "orders.*");
      await store.subscribe("hash", "orders.#");
      await store.subscribe("all", "#");
      await store.subscribe("mid", "*.created");
      await store.subscribe("deep-star", "orders.*.created");
      await store.subscribe("other", "inventory.*");
      await store.subscribe("prefix", "order");
      await store.subscribe("longer", "orders.created.eu");

      const message = msg();
      const result = await store.publish("orders.created", message);
      expect(result.id).toBe(message.id);
      expect(result.duplicate).toBe(false);
      expect(sorted(result.recipients)).toEqual(["all", "exact", "hash", "mid", "star"]);

      for (const agent of ["exact", "star", "hash", "all", "mid"]) {
        const got = await receiveAll(store, agent);
        expect(idsOf(got), agent).toEqual([message.id]);
        expect(got[0]?.attempt).toBe(1);
        expect(got[0]?.message.data).toEqual(message.data);
      }
      for (const agent of ["deep-star", "other", "prefix", "longer"]) {
        expect(await store.receive(agent, { max: 10 }), agent).toEqual([]);
      }
    });

    it("# matches zero segments and many segments; * matches exactly one", async () => {
      const store = await open();
      await store.subscribe("hash-tail", "a.#");
      await store.subscribe("hash-mid", "a.#.z");
      await store.subscribe("star-tail", "a.*");

      expect(sorted((await store.publish("a", msg())).recipients)).toEqual(["hash-tail"]);
      expect(sorted((await store.publish("a.z", msg())).recipients)).toEqual([
        "hash-mid",
        "hash-tail",
        "star-tail",
      ]);
      expect(sorted((await store.publish("a.b.c.z", msg())).recipients)).toEqual(["hash-mid", "hash-tail"]);
      expect(sorted((await store.publish("a.b", msg())).recipients)).toEqual(["hash-tail", "star-tail"]);
      expect((await store.publish("b.a", msg())).recipients).toEqual([]);
    });

    it("an agent matching through several patterns gets one copy", async () => {
      const store = await open();
      await store.subscribe("worker", "orders.*");
      await store.subscribe("worker", "orders.#");
      await store.subscribe("worker", "#");
      await store.subscribe("worker", "orders.created");
      const message = msg();
      const result = await store.publish("orders.created", message);
      expect(result.recipients).toEqual(["worker"]);
      expect(idsOf(await receiveAll(store, "worker"))).toEqual([message.id]);
    });

    it("subscriptions per agent are capped, wildcard ones separately; re-subscribing at the cap is fine", async () => {
      const store = await open({ maxSubscriptionsPerAgent: 3, maxWildcardSubscriptionsPerAgent: 1 });
      await store.subscribe("capped", "a.#");
      await expectBmnError(() => store.subscribe("capped", "b.*"), "TOO_MANY_SUBSCRIPTIONS", "pattern");
      await store.subscribe("capped", "c.exact");
      await store.subscribe("capped", "d.exact");
      await store.subscribe("capped", "c.exact");
      await expectBmnError(() => store.subscribe("capped", "e.exact"), "TOO_MANY_SUBSCRIPTIONS", "pattern");
      // Another agent has caps of its own; a removed subscription frees its place.
      await store.subscribe("other", "e.exact");
      expect(await store.unsubscribe("capped", "d.exact")).toBe(true);
      await store.subscribe("capped", "e.exact");
      expect(sorted((await store.listSubscriptions("capped")).map((s) => s.pattern))).toEqual([
        "a.#",
        "c.exact",
        "e.exact",
      ]);
      expect(sorted((await store.publish("e.exact", msg())).recipients)).toEqual(["capped", "other"]);
      expect((await store.publish("a.b.c", msg())).recipients).toEqual(["capped"]);
      expect((await store.publish("c.exact.more", msg())).recipients).toEqual([]);
    });

    it("an exact and a wildcard pattern of one agent on the same topic give one copy; unsubscribe stops each", async () => {
      const store = await open();
      await store.subscribe("both", "news.today");
      await store.subscribe("both", "news.*");
      expect((await store.publish("news.today", msg())).recipients).toEqual(["both"]);
      expect(await receiveAll(store, "both")).toHaveLength(1);
      expect(await store.unsubscribe("both", "news.today")).toBe(true);
      expect((await store.publish("news.today", msg())).recipients).toEqual(["both"]);
      expect(await store.unsubscribe("both", "news.*")).toBe(true);
      expect(await store.unsubscribe("both", "news.*")).toBe(false);
      expect((await store.publish("news.today", msg())).recipients).toEqual([]);
    });

    it("no subscriber: recipients [] and nothing queued", async () => {
      const store = await open();
      await store.subscribe("worker", "other.topic");
      const message = msg();
      const result = await store.publish("nobody.listens", message);
      expect(result.id).toBe(message.id);
      expect(result.recipients).toEqual([]);
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
    });

    it("topic matching is case-sensitive", async () => {
      const store = await open();
      await store.subscribe("worker", "Orders.*");
      expect((await store.publish("orders.created", msg())).recipients).toEqual([]);
      expect((await store.publish("Orders.created", msg())).recipients).toEqual(["worker"]);
    });

    it("subscribe is idempotent and listSubscriptions lists each pattern once", async () => {
      const store = await open();
      await store.subscribe("agent-a", "orders.*");
      await store.subscribe("agent-a", "orders.*");
      await store.subscribe("agent-a", "billing.#");
      await store.subscribe("agent-b", "orders.*");

      const forA = await store.listSubscriptions("agent-a");
      expect(forA.map((s) => `${s.agent} ${s.pattern}`).sort()).toEqual([
        "agent-a billing.#",
        "agent-a orders.*",
      ]);
      const all = await store.listSubscriptions();
      expect(all.map((s) => `${s.agent} ${s.pattern}`).sort()).toEqual([
        "agent-a billing.#",
        "agent-a orders.*",
        "agent-b orders.*",
      ]);
      expect(await store.listSubscriptions("nobody")).toEqual([]);

      const message = msg();
      expect(sorted((await store.publish("orders.x", message)).recipients)).toEqual(["agent-a", "agent-b"]);
      expect(await receiveAll(store, "agent-a")).toHaveLength(1);
    });

    it("unsubscribe answers whether the subscription existed and stops delivery", async () => {
      const store = await open();
      await store.subscribe("worker", "orders.*");
      await store.subscribe("worker", "billing.*");
      expect(await store.unsubscribe("worker", "orders.*")).toBe(true);
      expect(await store.unsubscribe("worker", "orders.*")).toBe(false);
      expect(await store.unsubscribe("worker", "never.subscribed")).toBe(false);
      expect(await store.unsubscribe("stranger", "billing.*")).toBe(false);

      expect((await store.publish("orders.created", msg())).recipients).toEqual([]);
      expect(await store.receive("worker", { max: 10 })).toEqual([]);
      expect((await store.publish("billing.paid", msg())).recipients).toEqual(["worker"]);
      expect((await store.listSubscriptions("worker")).map((s) => s.pattern)).toEqual(["billing.*"]);
    });

    it("a retried publish completes the recipients it missed and is a duplicate once everyone has it", async () => {
      const store = await open();
      await store.subscribe("agent-a", "jobs.*");
      const message = msg();
      const first = await store.publish("jobs.new", message);
      expect(first).toMatchObject({ recipients: ["agent-a"], duplicate: false });

      await store.subscribe("agent-b", "jobs.*");
      const second = await store.publish("jobs.new", message);
      expect(second).toMatchObject({ recipients: ["agent-b"], duplicate: false });

      const third = await store.publish("jobs.new", message);
      expect(third).toMatchObject({ recipients: [], duplicate: true });

      expect(idsOf(await receiveAll(store, "agent-a"))).toEqual([message.id]);
      expect(idsOf(await receiveAll(store, "agent-b"))).toEqual([message.id]);
    });

    it("publish and enqueue share the per-queue dedupe", async () => {
      const store = await open();
      await store.subscribe("worker", "jobs.*");
      const message = msg();
      await store.enqueue("worker", message);
      expect(await store.publish("jobs.new", message)).toMatchObject({ recipients: [], duplicate: true });
      expect(await receiveAll(store, "worker")).toHaveLength(1);
    });

    it("published messages keep priority order in each queue", async () => {
      const store = await open();
      await store.subscribe("worker", "jobs.#");
      const low = msg({ priority: 1 });
      const high = msg({ priority: 8 });
      const mid = msg();
      for (const message of [low, high, mid]) await store.publish("jobs.new", message);
      expect(idsOf(await receiveAll(store, "worker"))).toEqual([high.id, mid.id, low.id]);
    });
  });
}
