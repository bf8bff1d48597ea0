import { afterAll, beforeAll } from "vitest";
import { RedisStore } from "../../store/redis/redis-store.js";
import { describeStoreConformance } from "../conformance/store-conformance.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";

let server: RedisServerHandle;
let databases = 0;

beforeAll(async () => {
  server = await startRedis();
});

afterAll(async () => {
  await server.cleanup();
});

// Each test gets its own key prefix on the one server, so tests cannot see each other's queues.
describeStoreConformance("redis", {
  create: (policy) =>
    RedisStore.connect({ url: server.url }, { keyPrefix: `t${++databases}:`, policy: policy ?? {} }),
});
