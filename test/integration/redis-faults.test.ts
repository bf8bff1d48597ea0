import { afterEach, describe, expect, it } from "vitest";
import { BmnError } from "../../core/errors.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import { expectBmnError, msg, receiveAll, untilPingable } from "../conformance/helpers.js";
import { expectCrashRecovery } from "../conformance/crash-recovery.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function serverAndStore(
  options: { appendOnly?: boolean } = {},
): Promise<{ server: RedisServerHandle; store: RedisStore }> {
  const server = await startRedis({
    appendOnly: options.appendOnly ?? false,
    appendFsyncAlways: options.appendOnly ?? false,
  });
  cleanups.push(() => server.cleanup());
  const store = await RedisStore.connect(
    { url: server.url },
    { commandTimeoutMs: 500, policy: { traceRetentionMs: 0 } },
  );
  cleanups.push(() => store.close());
  return { server, store };
}

describe("redis faults", () => {
  it("keeps every accepted message and lease across a SIGKILL and restart with AOF (appendfsync always)", async () => {
    const { server, store } = await serverAndStore({ appendOnly: true });
    await expectCrashRecovery(server, store);
  });

  it("answers STORE_UNAVAILABLE while Redis is down, loses nothing, and recovers by itself", async () => {
    const { server, store } = await serverAndStore({ appendOnly: true });
    const before = await store.enqueue("worker", msg());

    await server.stop();
    await expectBmnError(() => store.enqueue("worker", msg()), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.receive("worker", { max: 1 }), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.queueStats("worker"), "STORE_UNAVAILABLE");
    await expectBmnError(() => store.ping(), "STORE_UNAVAILABLE");

    await server.start();
    await untilPingable(store);
    const after = await store.enqueue("worker", msg());
    const ids = (await receiveAll(store, "worker")).map((delivery) => delivery.message.id);
    expect(ids).toEqual([before.id, after.id]);
  });

  it("a long-poll that is waiting when Redis restarts still gets a message sent after the restart", async () => {
    const { server, store } = await serverAndStore({ appendOnly: true });
    const sender = await RedisStore.connect({ url: server.url }, { commandTimeoutMs: 500 });
    cleanups.push(() => sender.close());
    // Subscribe first so the waiter exists before the restart.
    const waiting = store.receive("listener", { waitMs: 20_000 }).catch((error: unknown) => error);
    await server.restart();
    await untilPingable(sender);
    const sent = await sender.enqueue("listener", msg());
    const result = await waiting;
    // Either the waiting receive got the message, or it failed fast with STORE_UNAVAILABLE during the restart
    // and the message is still there: nothing is lost either way.
    if (result instanceof BmnError) {
      expect(result.code).toBe("STORE_UNAVAILABLE");
      const [delivery] = await store.receive("listener", { waitMs: 5_000 });
      expect(delivery?.message.id).toBe(sent.id);
    } else {
      expect((result as { message: { id: string } }[]).map((delivery) => delivery.message.id)).toEqual([
        sent.id,
      ]);
    }
  });

  it("fails to connect with STORE_UNAVAILABLE when nothing listens", async () => {
    const server = await startRedis();
    const url = server.url;
    await server.cleanup();
    await expect(RedisStore.connect({ url }, { commandTimeoutMs: 300 })).rejects.toMatchObject({
      code: "STORE_UNAVAILABLE",
    });
  });

  it("treats Lua and keyspace metacharacters in message fields as data", async () => {
    const { store } = await serverAndStore();
    const hostile = "\"]] redis.call('FLUSHALL') --[[ {evil}:*\n";
    const kept = await store.enqueue("worker", msg({ data: { hostile } }));
    // Attributes refuse control characters (strict input), so the newline stays in data only.
    const hostileAttribute = hostile.trimEnd();
    const message = msg({
      dedupekey: "tenant:a/b~c",
      subject: hostileAttribute,
      correlationid: hostileAttribute,
    });
    await store.enqueue("worker", message);
    const ids = (await receiveAll(store, "worker")).map((delivery) => delivery.message);
    expect(ids.map((m) => m.id)).toEqual([kept.id, message.id]);
    expect(ids[0]?.data).toEqual({ hostile });
    expect(ids[1]?.subject).toBe(hostileAttribute);
    expect(await store.enqueue("worker", msg({ dedupekey: "tenant:a/b~c" }))).toMatchObject({
      duplicate: true,
    });
  });
});
