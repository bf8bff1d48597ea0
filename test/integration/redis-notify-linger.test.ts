import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { RedisStore } from "../../store/redis/redis-store.js";
import { msg } from "../conformance/helpers.js";
import { until } from "../harness/poll-until.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";

/** SUBSCRIBE calls the server has run since the last RESETSTAT. */
async function subscribeCalls(admin: Redis): Promise<number> {
  const stats = await admin.info("commandstats");
  return Number(/^cmdstat_subscribe:calls=(\d+)/m.exec(stats)?.[1] ?? "0");
}

describe("redis store: long-poll wake-up channels", () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let store: RedisStore;

  beforeAll(async () => {
    server = await startRedis();
    admin = new Redis(server.url);
    // This store is the server's only subscriber, so the server's counters are its own.
    store = await RedisStore.connect({ url: server.url }, { keyPrefix: "linger:" });
  });

  afterAll(async () => {
    await store.close();
    admin.disconnect();
    await server.cleanup();
  });

  it("a receiver polling in a loop subscribes once, not once per poll, and the channel goes once it idles", async () => {
    await admin.config("RESETSTAT");
    for (let poll = 0; poll < 20; poll++) expect(await store.receive("looper", { waitMs: 5 })).toEqual([]);
    expect(await subscribeCalls(admin)).toBe(1);
    // A waiter on the kept channel is still woken by a send.
    const waiting = store.receive("looper", { waitMs: 5_000 });
    await store.enqueue("looper", msg());
    expect(await waiting).toHaveLength(1);
    await until(
      async () => ((await admin.pubsub("CHANNELS", "linger:notify:*")) as string[]).length === 0,
      5_000,
      "the idle channel to be unsubscribed",
    );
  });

  it("keeps at most 256 idle channels subscribed, however many names were polled", async () => {
    const polls = Array.from({ length: 300 }, (_, i) => store.receive(`name-${String(i)}`, { waitMs: 10 }));
    expect((await Promise.all(polls)).flat()).toEqual([]);
    const open = (await admin.pubsub("CHANNELS", "linger:notify:name-*")) as string[];
    expect(open.length).toBeLessThanOrEqual(256);
    await until(
      async () => ((await admin.pubsub("CHANNELS", "linger:notify:name-*")) as string[]).length === 0,
      5_000,
      "every idle channel to be unsubscribed",
    );
  });
});
