import { afterAll, beforeAll } from "vitest";
import { RedisStore } from "../../store/redis/redis-store.js";
import { describeStoreConformance } from "../conformance/store-conformance.js";
import { startRedisCluster, type RedisClusterHandle } from "../harness/redis-cluster.js";

let cluster: RedisClusterHandle;
let prefixes = 0;

beforeAll(async () => {
  cluster = await startRedisCluster({ masters: 3 });
});

afterAll(async () => {
  await cluster.cleanup();
});

describeStoreConformance("redis-cluster", {
  create: (policy) =>
    RedisStore.connect({ cluster: cluster.nodes }, { keyPrefix: `t${++prefixes}:`, policy: policy ?? {} }),
});
