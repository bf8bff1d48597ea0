import { Cluster } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createMessage } from "../../core/envelope.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import { receiveAll } from "../conformance/helpers.js";
import { startRedisCluster, type RedisClusterHandle } from "../harness/redis-cluster.js";

let cluster: RedisClusterHandle;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});

afterAll(async () => {
  await cluster.cleanup();
});

describe("redis cluster: commits across slots", () => {
  it("finishes, on the next connect, a cross-slot commit whose process died after logging it", async () => {
    const keyPrefix = "recover:";
    // Agents whose queues sit in different slots, as a commit that touched both would have logged them.
    const writes = ["alpha", "bravo", "charlie"].map((agent) => {
      const message = createMessage({ type: "t", to: agent, data: { agent } });
      return {
        kind: "enqueue",
        agent,
        message: { id: message.id },
        json: JSON.stringify(message),
        priority: 4,
        dedupeKey: message.id,
        replay: false,
      };
    });
    const admin = new Cluster(cluster.nodes);
    await admin.hset(`${keyPrefix}txlog`, "crashed-commit", JSON.stringify(writes));
    const store = await RedisStore.connect({ cluster: cluster.nodes }, { keyPrefix });
    try {
      for (const write of writes) {
        const delivered = await receiveAll(store, write.agent);
        expect(delivered.map((delivery) => delivery.message.id)).toEqual([write.message.id]);
      }
      expect(await admin.hlen(`${keyPrefix}txlog`)).toBe(0);
      // Finishing it again (a second crash during recovery) is harmless: dedupe keeps each write once.
      await admin.hset(`${keyPrefix}txlog`, "crashed-commit", JSON.stringify(writes));
      const again = await RedisStore.connect({ cluster: cluster.nodes }, { keyPrefix });
      await again.close();
      for (const write of writes) expect(await receiveAll(store, write.agent)).toEqual([]);
    } finally {
      await store.close();
      admin.disconnect();
    }
  });

  it("commits a transaction spanning several slots all together", async () => {
    const store = await RedisStore.connect({ cluster: cluster.nodes }, { keyPrefix: "span:" });
    try {
      await store.enqueue("source", createMessage({ type: "job" }));
      const [job] = await store.receive("source");
      const tx = await store.beginTransaction();
      for (const agent of ["alpha", "bravo", "charlie", "delta"])
        await store.enqueue(agent, createMessage({ type: "fanout" }), { tx });
      await store.ack(job?.leaseId ?? "", { tx });
      await store.commit(tx);
      for (const agent of ["alpha", "bravo", "charlie", "delta"])
        expect(await receiveAll(store, agent)).toHaveLength(1);
      expect(await store.queueStats("source")).toMatchObject({ ready: 0, inFlight: 0 });
    } finally {
      await store.close();
    }
  });
});
