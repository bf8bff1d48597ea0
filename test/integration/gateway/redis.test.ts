import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startRedis, type RedisServerHandle } from "../../harness/redis-server.js";
import { eventually, receiveAll, send, startTopology, type Topology } from "./gateway-fixture.js";

describe("gateway: two domains on real Redis", () => {
  let redisA: RedisServerHandle;
  let redisB: RedisServerHandle;
  let topology: Topology;

  beforeAll(async () => {
    [redisA, redisB] = await Promise.all([startRedis(), startRedis()]);
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      backend: "redis",
      redis: { a: redisA, b: redisB },
      perDomain: { b: { policy: { allowedMessageTypes: ["task"] } } },
    });
  });
  afterAll(async () => {
    await topology.close();
    await Promise.all([redisA.cleanup(), redisB.cleanup()]);
  });

  it("delivers 100 messages exactly once across a gateway restart (drain) in the middle", async () => {
    const a = topology.node("a");
    const b = topology.node("b");
    const ids: string[] = [];
    for (let n = 0; n < 50; n++)
      ids.push((await send(a.sidecar, { to: "alice@b", type: "task", data: { n } })).body.id ?? "");
    // SIGTERM-like drain of a's gateway: finishes the batch in flight, releases its leases; a new one takes over.
    await a.stopGateway();
    for (let n = 50; n < 100; n++)
      ids.push((await send(a.sidecar, { to: "alice@b", type: "task", data: { n } })).body.id ?? "");
    await a.startGateway();
    const received = await receiveAll(b.sidecar, "alice", 100, 20_000);
    expect(new Set(received.map((m) => m.id)).size).toBe(100);
    expect(received.map((m) => m.id).sort()).toEqual([...ids].sort());
    expect(await receiveAll(b.sidecar, "alice", 1, 300)).toEqual([]);
    await eventually(
      async () => ((await a.store.queueStats("bmn.out.b")).depth === 0 ? true : undefined),
      "a's outbox to drain",
    );
  });

  it("dead-letters a policy-refused message in the source as forbidden; the target store never sees it", async () => {
    const a = topology.node("a");
    const b = topology.node("b");
    const sent = await send(a.sidecar, { to: "bob@b", type: "other" });
    const letter = await eventually(
      async () =>
        (await a.store.listDeadLetters({ reason: "forbidden" })).find((d) => d.message.id === sent.body.id),
      "a forbidden dead letter",
    );
    expect(letter.agent).toBe("bmn.out.b");
    expect(await b.store.traceOf(sent.body.id ?? "")).toEqual([]);
    expect((await b.store.queueStats("bob")).depth).toBe(0);
  });
});
