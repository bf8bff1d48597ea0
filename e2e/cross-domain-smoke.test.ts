import { afterEach, describe, expect, it } from "vitest";
import { DedupingAgent, Domains, sendMessages, type OutgoingMessage } from "./harness/domains.js";

let domains: Domains | undefined;
let agent: DedupingAgent | undefined;

afterEach(async () => {
  await agent?.stop();
  await domains?.stop();
  agent = undefined;
  domains = undefined;
});

describe("cross-domain delivery through gateways and Toxiproxy (real processes, real Redis)", () => {
  it("delivers 100 messages from domain a to an agent in domain b exactly once", async () => {
    const started = await Domains.start({ domains: ["a", "b"] });
    domains = started;
    const a = started.domain("a");
    const b = started.domain("b");
    // Every gateway-to-gateway request crosses the proxy: 200 ms on a→b delays each delivery at least that much.
    const latencyMs = 200;
    await started.link("a", "b").each((proxy) => proxy.latency(latencyMs, 0, { stream: "upstream" }));

    const receiver = new DedupingAgent(() => b.sidecarUrl, "worker").start();
    agent = receiver;
    const messages: OutgoingMessage[] = Array.from({ length: 100 }, (_, index) => ({
      id: `smoke-${index}`,
      to: "worker@b",
      type: "smoke.test",
      data: { index },
    }));
    const sentAt = Date.now();
    const accepted = await sendMessages(() => a.sidecarUrl, messages);
    expect(accepted.size).toBe(100);
    await receiver.untilDelivered(accepted, 60_000);

    const counts = receiver.counts(accepted);
    console.log(`cross-domain smoke a→b: ${JSON.stringify(counts)}`);
    expect(counts).toEqual({ expected: 100, delivered: 100, duplicates: 0, lost: 0, unexpected: 0 });
    const first = receiver.processed[0];
    expect(first).toBeDefined();
    expect((first?.at ?? 0) - sentAt).toBeGreaterThanOrEqual(latencyMs);
    // The hop history names the domain the message left.
    expect(first?.message.bmnvia).toBe("a");
  });
});
