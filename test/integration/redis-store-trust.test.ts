import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnError } from "../../core/errors.js";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import { ResilientStore } from "../../store/resilient-store.js";
import type { DeadLetterPage } from "../../store/store.js";
import { expectBmnError, msg } from "../conformance/helpers.js";
import { until } from "../harness/poll-until.js";
import { startRedisWithArgs, type RedisServerHandle } from "../harness/redis-server.js";
import { http } from "./sidecar/sidecar-fixture.js";

/** Writes `count` dead letters straight into an agent's DLQ keys in one script: what 95k expired sends leave. */
const FILL_DLQ = `
local template = ARGV[2]
for i = 1, tonumber(ARGV[1]) do
  local id = string.format('dl-%07d', i)
  local at = tonumber(ARGV[3]) + i
  redis.call('ZADD', KEYS[1], at, id)
  redis.call('HSET', KEYS[2], id, (string.gsub(template, '@ID@', id)))
  redis.call('HSET', KEYS[3], id, '{"reason":"expired","at":' .. at .. ',"attempts":{}}')
end
redis.call('SADD', KEYS[4], ARGV[4])
return 1`;

const noPersistence =
  (extra: string[] = []) =>
  () =>
    Promise.resolve(["--save", "", "--appendonly", "no", ...extra]);

async function outputBytes(redis: Redis): Promise<number> {
  const info = await redis.info("stats");
  return Number(/^total_net_output_bytes:(\d+)/m.exec(info)?.[1]);
}

describe("redis store: a huge DLQ is read, purged and replayed in bounded pages", () => {
  const DLQ_SIZE = 95_000;
  let server: RedisServerHandle;
  let admin: Redis;
  let store: RedisStore;
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    server = await startRedisWithArgs(noPersistence());
    admin = new Redis(server.url);
    store = await RedisStore.connect({ url: server.url }, { keyPrefix: "big:" });
    const template = JSON.stringify({ ...msg({ data: "x".repeat(200) }), id: "@ID@" });
    const key = (name: string): string => `big:{victim}:${name}`;
    await admin.eval(
      FILL_DLQ,
      4,
      key("dlq"),
      key("dlqmsg"),
      key("dlqinfo"),
      "big:queues",
      DLQ_SIZE,
      template,
      1_000_000,
      "victim",
    );
    const config = loadConfig({ port: 0, logLevel: "silent" }, {});
    sidecar = await startSidecar(config, { store, logger: false });
  });

  afterAll(async () => {
    await sidecar.close();
    admin.disconnect();
    await server.cleanup();
  });

  it("GET /v1/dlq?agent=victim&limit=1 answers one record and a cursor, reading O(page) from Redis", async () => {
    const before = await outputBytes(admin);
    const answer = await http<DeadLetterPage>(sidecar.url, "GET", "/v1/dlq?agent=victim&limit=1");
    expect(answer.status).toBe(200);
    expect(answer.body.deadLetters.map((letter) => letter.message.id)).toEqual(["dl-0000001"]);
    expect(answer.body.nextCursor).toEqual(expect.any(String));
    // The whole DLQ is about 30 MB on the wire; one page must not read more than a small slice of it.
    expect((await outputBytes(admin)) - before).toBeLessThan(1_000_000);

    const next = await http<DeadLetterPage>(
      sidecar.url,
      "GET",
      `/v1/dlq?agent=victim&limit=1000&cursor=${answer.body.nextCursor ?? ""}`,
    );
    expect(next.body.deadLetters).toHaveLength(1_000);
    expect(next.body.deadLetters[0]?.message.id).toBe("dl-0000002");
    expect(next.body.deadLetters.at(-1)?.message.id).toBe("dl-0001001");
    // Without an agent the page is capped the same way; a larger page is refused, naming the field.
    const everyone = await http<DeadLetterPage>(sidecar.url, "GET", "/v1/dlq?limit=1000");
    expect(everyone.body.deadLetters).toHaveLength(1_000);
    const tooLarge = await http<{ errorCode: string; field: string }>(
      sidecar.url,
      "GET",
      "/v1/dlq?limit=10000",
    );
    expect(tooLarge.status).toBe(400);
    expect(tooLarge.body).toMatchObject({ errorCode: "INVALID_ARGUMENT", field: "limit" });
  });

  it("purge and replay by id touch only those ids; a purge of the whole DLQ works in chunks", async () => {
    expect(await store.replayDeadLetters({ agent: "victim", ids: ["dl-0000005"] })).toBe(1);
    expect((await store.receive("victim", { max: 5 })).map((d) => d.message.id)).toEqual(["dl-0000005"]);
    const purged = await http<{ purged: number }>(sidecar.url, "POST", "/v1/dlq/purge", {
      json: { agent: "victim", ids: ["dl-0000003", "dl-0000004"] },
    });
    expect(purged).toMatchObject({ status: 200, body: { purged: 2 } });
    const all = await http<{ purged: number }>(sidecar.url, "POST", "/v1/dlq/purge", {
      json: { agent: "victim" },
    });
    expect(all).toMatchObject({ status: 200, body: { purged: DLQ_SIZE - 3 } });
    expect(await admin.zcard("big:{victim}:dlq")).toBe(0);
    expect((await http(sidecar.url, "GET", "/healthz")).status).toBeLessThan(500);
  });

  it("long-polls on distinct names leave no Redis SUBSCRIBE channel behind", async () => {
    const polls = Array.from({ length: 100 }, (_, i) => store.receive(`poller-${i}`, { waitMs: 30 }));
    expect((await Promise.all(polls)).flat()).toEqual([]);
    const channels = await until(
      async () => {
        // The sidecar's own standing waiters (the A2A push and events queues) keep theirs; the pollers' must go.
        const open = await admin.pubsub("CHANNELS", "big:notify:poller-*");
        return open.length === 0 ? open : undefined;
      },
      5_000,
      "every notify channel to be unsubscribed",
      async () => JSON.stringify(await admin.pubsub("CHANNELS", "big:notify:poller-*")),
    );
    expect(channels).toEqual([]);
    // A waiter still works after its channel came and went.
    const waiting = store.receive("poller-1", { waitMs: 5_000 });
    await until(
      async () => (await admin.pubsub("NUMSUB", "big:notify:poller-1"))[1] === 1,
      5_000,
      "the waiter to subscribe again",
    );
    await store.enqueue("poller-1", msg());
    expect(await waiting).toHaveLength(1);
  });

  it("registering and heartbeating an agent never reads the whole registry", async () => {
    for (let i = 0; i < 100; i++) await store.registerAgent({ name: `reg-${i}` });
    await admin.config("RESETSTAT");
    for (let i = 0; i < 100; i++) {
      await store.registerAgent({ name: `reg-${i}`, capabilities: ["x"] });
      await store.heartbeat(`reg-${i}`);
    }
    expect(await admin.info("commandstats")).not.toMatch(/cmdstat_hgetall:/);
    expect(await store.listAgents({ capability: "x" })).toHaveLength(100);
  });

  it("a Redis script error answers INTERNAL without the script hash or Redis's own text", async () => {
    await admin.set("big:{broken}:ready", "not a sorted set");
    const error = await store.receive("broken").then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BmnError);
    expect((error as BmnError).message).not.toMatch(/[0-9a-f]{40}|script|WRONGTYPE.*against/i);
  });
});

describe("redis store: eviction policy is checked at start", () => {
  it("refuses an evicting policy with one line saying why, unless allowEviction is set (then warns)", async () => {
    const server = await startRedisWithArgs(noPersistence(["--maxmemory-policy", "allkeys-lru"]));
    try {
      const refused = await RedisStore.connect({ url: server.url }).then(
        (store) => store.close().then(() => undefined),
        (error: unknown) => error,
      );
      expect(refused).toBeInstanceOf(BmnError);
      expect((refused as Error).message).toMatch(/maxmemory-policy is allkeys-lru.*noeviction/);
      expect((refused as Error).message).not.toContain("\n");
      const warnings: string[] = [];
      const store = await RedisStore.connect(
        { url: server.url },
        { allowEviction: true, warn: (line) => warnings.push(line) },
      );
      await store.close();
      expect(warnings).toEqual([expect.stringMatching(/maxmemory-policy is allkeys-lru/)]);
    } finally {
      await server.cleanup();
    }
  });

  it("reads the policy from INFO when CONFIG is disabled", async () => {
    const server = await startRedisWithArgs(
      noPersistence(["--maxmemory-policy", "volatile-lru", "--rename-command", "CONFIG", ""]),
    );
    try {
      await expect(RedisStore.connect({ url: server.url })).rejects.toThrow(
        /maxmemory-policy is volatile-lru/,
      );
    } finally {
      await server.cleanup();
    }
  });
});

describe("redis store at maxmemory (noeviction)", () => {
  let server: RedisServerHandle;
  let admin: Redis;
  let store: RedisStore;
  let sidecar: RunningSidecar;
  let maxBytes = 0;
  const key = (name: string): string => `oom:{filler}:${name}`;
  const counts = async (): Promise<number[]> =>
    Promise.all([
      admin.hlen(key("msg")),
      admin.zcard(key("ready")),
      admin.zcard(key("dedupe")),
      admin.hlen(key("state")),
    ]);

  beforeAll(async () => {
    server = await startRedisWithArgs(
      noPersistence(["--maxmemory", "4mb", "--maxmemory-policy", "noeviction"]),
    );
    admin = new Redis(server.url);
    store = await RedisStore.connect({ url: server.url }, { keyPrefix: "oom:", policy: { maxAttempts: 3 } });
    const config = loadConfig({ port: 0, logLevel: "silent" }, {});
    sidecar = await startSidecar(config, { store, logger: false });
    // Fill until Redis refuses; every refused send must have written nothing.
    const filler = "y".repeat(4_000);
    let full = false;
    for (let sent = 0; sent < 10_000 && !full; sent++) {
      try {
        await store.enqueue("filler", msg({ data: filler }));
      } catch (error) {
        if (!(error instanceof BmnError && error.code === "STORE_FULL")) throw error;
        full = true;
      }
    }
    if (!full) throw new Error("redis never reached maxmemory");
    // Redis refuses writes only while it uses more than maxmemory, and buffers it frees on its own can bring it
    // back under by a few bytes: the limit goes well below what is used, so the tests below are not a coin toss.
    const used = Number(/used_memory:(\d+)/.exec(await admin.info("memory"))?.[1]);
    maxBytes = used - 512 * 1_024;
    await admin.config("SET", "maxmemory", String(maxBytes));
  });

  afterAll(async () => {
    await sidecar.close();
    admin.disconnect();
    await server.cleanup();
  });

  it("a send answers 503 STORE_FULL with Retry-After and writes nothing", async () => {
    const before = await counts();
    const answer = await http(sidecar.url, "POST", "/v1/messages", {
      json: { to: "filler", type: "more", data: { n: 1 } },
    });
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({ errorCode: "STORE_FULL" });
    expect(Number(answer.headers.get("retry-after"))).toBeGreaterThanOrEqual(1);
    await expectBmnError(() => store.enqueue("filler", msg()), "STORE_FULL");
    const tx = await store.beginTransaction();
    await store.enqueue("filler", msg(), { tx });
    await expectBmnError(() => store.commit(tx), "STORE_FULL");
    expect(await counts()).toEqual(before);
    // A refused write is not a backend failure: the breaker stays closed for everyone else.
    expect(sidecar.store).toBeInstanceOf(ResilientStore);
    if (sidecar.store instanceof ResilientStore) expect(sidecar.store.breakerState()).toBe("closed");
  });

  it("receive, ack, nack and DLQ purge keep working so consumers can drain", async () => {
    const deliveries = await store.receive("filler", { max: 4 });
    expect(deliveries).toHaveLength(4);
    const [first, second, third] = deliveries;
    if (first === undefined || second === undefined || third === undefined) throw new Error("too few");
    await store.ack(first.leaseId);
    expect(await store.nack(second.leaseId, { delayMs: 0 })).toMatchObject({ outcome: "retry" });
    expect(await store.nack(third.leaseId, { deadLetter: true })).toMatchObject({ outcome: "dead-lettered" });
    expect(await store.purgeDeadLetters({ agent: "filler" })).toBe(1);
    const viaHttp = await http<{ deliveries: { leaseId: string }[] }>(
      sidecar.url,
      "GET",
      "/v1/agents/filler/messages?max=2",
    );
    expect(viaHttp.status).toBe(200);
    expect(viaHttp.body.deliveries.length).toBeGreaterThan(0);
  });

  it("exports used and max memory and the policy as metrics", async () => {
    expect(await store.memoryStatus()).toMatchObject({ maxBytes, policy: "noeviction" });
    const metrics = await (await fetch(`${sidecar.url}/metrics`)).text();
    expect(metrics).toContain(`\nbmn_store_memory_max_bytes ${maxBytes}\n`);
    expect(metrics).toMatch(/^bmn_store_memory_used_bytes \d+$/m);
    expect(metrics).toMatch(/^bmn_store_memory_policy\{policy="noeviction"\} 1$/m);
  });
});
