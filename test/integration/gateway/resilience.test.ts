import { afterEach, describe, expect, it } from "vitest";
import { eventually, receiveAll, send, startTopology, tokenFor, type Topology } from "./gateway-fixture.js";

describe("gateway: retries, breaker, TTL, attempts, unroutable (memory stores)", () => {
  let topology: Topology | undefined;
  afterEach(async () => {
    await topology?.close();
    topology = undefined;
  });

  it("holds messages while the peer is down (breaker opens, link down), then delivers each exactly once", async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], { deferred: ["b"] });
    const a = topology.node("a");
    const b = topology.node("b");
    const ids: string[] = [];
    for (let n = 0; n < 20; n++) {
      const sent = await send(a.sidecar, { to: "alice@b", type: "task", data: { n } });
      ids.push(sent.body.id ?? "");
    }
    // The peer is unreachable: the breaker for b opens and the link shows as down in a's topology.
    const link = await eventually(async () => {
      const topo = await a.gateway?.topology();
      const entry = topo?.links.find((l) => l.peer === "b");
      return entry?.breaker === "open" && entry.state === "down" ? entry : undefined;
    }, "b's breaker to open");
    expect(link.backlog.depth + link.backlog.inFlight).toBe(20);
    await b.startGateway();
    const received = await receiveAll(b.sidecar, "alice", 20, 15_000);
    expect(received.map((m) => m.id)).toEqual(ids);
    expect(await receiveAll(b.sidecar, "alice", 1, 300)).toEqual([]);
    await eventually(
      async () => ((await a.store.queueStats("bmn.out.b")).depth === 0 ? true : undefined),
      "a's outbox to drain",
    );
    expect(await a.store.listDeadLetters()).toEqual([]);
  });

  it("dead-letters in the source after maxForwardAttempts (max-attempts) and past the TTL (expired)", async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      deferred: ["b"],
      perDomain: { a: { retry: { maxForwardAttempts: 3, backoffBaseMs: 10, backoffMaxMs: 20 } } },
    });
    const a = topology.node("a");
    const first = await send(a.sidecar, { to: "alice@b", type: "task" });
    const letter = await eventually(
      async () => (await a.store.listDeadLetters({ reason: "max-attempts" }))[0],
      "a max-attempts dead letter",
    );
    expect(letter.message.id).toBe(first.body.id);
    expect(letter.lastError).toMatch(/3 attempts/);
    expect(letter.lastError).toMatch(/hops: a/);

    await a.startGateway({ retry: { maxForwardAttempts: 0, backoffBaseMs: 10, backoffMaxMs: 20 } });
    const expiring = await send(a.sidecar, {
      to: "alice@b",
      type: "task",
      expiresat: new Date(Date.now() + 300).toISOString(),
    });
    const expired = await eventually(
      async () => (await a.store.listDeadLetters({ reason: "expired" }))[0],
      "an expired dead letter",
    );
    expect(expired.message.id).toBe(expiring.body.id);
  });

  it("dead-letters a message for a domain no route leads to as unroutable", async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]]);
    const a = topology.node("a");
    const sent = await send(a.sidecar, { to: "zed@nowhere", type: "task" });
    expect(sent.status).toBe(202);
    const letter = await eventually(
      async () => (await a.store.listDeadLetters({ reason: "unroutable" }))[0],
      "an unroutable dead letter",
    );
    expect(letter.message.id).toBe(sent.body.id);
  });

  it("answers 429 with Retry-After over a peer's rate limit, and the sender still delivers everything", async () => {
    // a's gateway starts once all 12 wait in the outbox, so its batches go out back to back, faster than the rate.
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      deferred: ["a"],
      perDomain: {
        b: { policy: { rateLimitPerPeer: { messagesPerSecond: 10, burst: 5 } } },
        a: { batching: { maxMessages: 5, maxDelayMs: 0 } },
      },
    });
    const a = topology.node("a");
    const b = topology.node("b");
    for (let n = 0; n < 12; n++) await send(a.sidecar, { to: "alice@b", type: "task", data: { n } });
    await a.startGateway();
    const received = await receiveAll(b.sidecar, "alice", 12, 15_000);
    expect(received).toHaveLength(12);
    const metrics = await (await fetch(`${a.gatewayUrl}/metrics`)).text();
    expect(metrics).toMatch(/bmn_gateway_forward_attempts_total\{peer="b",outcome="throttled"\} [1-9]/);
  });

  it("fails over to a peer's next endpoint when the first does not answer", async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]]);
    const a = topology.node("a");
    const b = topology.node("b");
    await a.startGateway({
      peers: [{ domain: "b", endpoints: ["http://127.0.0.1:1", b.gatewayUrl], token: tokenFor("a", "b") }],
    });
    const sent = await send(a.sidecar, { to: "alice@b", type: "task" });
    const received = await receiveAll(b.sidecar, "alice", 1);
    expect(received.map((m) => m.id)).toEqual([sent.body.id]);
    const link = (await a.gateway?.topology())?.links[0];
    expect(link?.endpoint).toBe(`${b.gatewayUrl}/`);
  });
});
