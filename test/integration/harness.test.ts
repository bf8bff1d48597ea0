import { afterAll, describe, expect, it } from "vitest";
import { Cluster, Redis } from "ioredis";
import calculateSlot from "cluster-key-slot";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";
import { startRedisCluster, type RedisClusterHandle } from "../harness/redis-cluster.js";

const servers: RedisServerHandle[] = [];
const clusters: RedisClusterHandle[] = [];

afterAll(async () => {
  await Promise.all([...servers.map((s) => s.cleanup()), ...clusters.map((c) => c.cleanup())]);
});

/** One short-lived connection per phase, so server restarts never race a reconnecting client. */
async function withClient<T>(url: string, use: (client: Redis) => Promise<T>): Promise<T> {
  const client = new Redis(url, { maxRetriesPerRequest: 0, retryStrategy: () => null });
  // Connection failures already reject the pending command; don't also log them as unhandled events.
  client.on("error", () => undefined);
  try {
    return await use(client);
  } finally {
    client.disconnect();
  }
}

describe("standalone redis harness", () => {
  it("serves SET/GET, and without AOF forgets data across a restart", async () => {
    const server = await startRedis();
    servers.push(server);
    expect(server.url).toBe(`redis://127.0.0.1:${server.port}`);

    await withClient(server.url, async (client) => {
      await client.set("greeting", "hello");
      expect(await client.get("greeting")).toBe("hello");
    });

    // --save "" means nothing is persisted, which proves each server really starts from its own empty dir.
    await server.restart();
    expect(await withClient(server.url, (client) => client.get("greeting"))).toBeNull();
  });

  it("keeps data across a graceful restart and a SIGKILL crash with appendfsync always", async () => {
    const server = await startRedis({ appendOnly: true, appendFsyncAlways: true });
    servers.push(server);

    await withClient(server.url, (client) => client.set("before-restart", "1"));
    await server.restart();
    expect(await withClient(server.url, (client) => client.get("before-restart"))).toBe("1");

    await withClient(server.url, (client) => client.set("before-crash", "2"));
    await server.kill();
    await expect(withClient(server.url, (client) => client.ping())).rejects.toThrow();
    await server.start();
    await withClient(server.url, async (client) => {
      expect(await client.mget("before-restart", "before-crash")).toEqual(["1", "2"]);
    });

    await server.stop();
    await server.stop(); // idempotent
  });
});

describe("redis cluster harness", () => {
  it("serves keys on different slots through an ioredis Cluster client", async () => {
    const cluster = await startRedisCluster();
    clusters.push(cluster);
    expect(cluster.nodes).toHaveLength(3);

    const client = new Cluster(cluster.nodes);
    try {
      const keys = Array.from({ length: 20 }, (_, i) => `key-${i}`);
      // 20 keys hash to many slots, so they span all three masters' ranges.
      expect(new Set(keys.map((key) => calculateSlot(key))).size).toBe(keys.length);
      for (const key of keys) await client.set(key, `value-${key}`);
      for (const key of keys) expect(await client.get(key)).toBe(`value-${key}`);

      const masters = client.nodes("master");
      expect(masters).toHaveLength(3);
      const perMaster = await Promise.all(masters.map((node) => node.dbsize()));
      expect(perMaster.every((count) => count > 0)).toBe(true);
    } finally {
      client.disconnect();
    }
  });
});
