import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import type { Topology } from "../gateway/topology.js";
import { DedupingAgent, Domains, sendMessages, type OutgoingMessage } from "./harness/domains.js";
import {
  linkTo,
  printCounts,
  topologyFromCli,
  topologyOf,
  until,
  untilSettled,
} from "./harness/gateway-observe.js";

/**
 * Routing between real gateway processes: three domains in a chain a – b – c (each its own Redis, sidecar and
 * gateway, every gateway-to-gateway connection through Toxiproxy). c is configured from the start (b lists it as a
 * peer) but its processes start only in the test: a learns the route to c from b's advertisements when c joins, and
 * loses it when the b – c link dies. Observed through `GET /v1/topology` (polled) and `bmn topology --json` (a real
 * CLI process, at each turning point). Messages a → c take two hops and are counted like the fault tests.
 */

const SUITE = "cross-domain-topology";

let domains: Domains;
let agent: DedupingAgent | undefined;

const gatewayUrl = (name: string): string => domains.domain(name).gateway(0).url;

function routeTo(topology: Topology, domain: string): Topology["routes"][number] | undefined {
  return topology.routes.find((route) => route.domain === domain);
}

/** a's and b's outboxes for c and c's worker queue are empty: nothing can be resent or redelivered. */
async function settled(): Promise<void> {
  await untilSettled(
    [
      { sidecarUrl: domains.domain("a").sidecarUrl, destination: "c" },
      { sidecarUrl: domains.domain("b").sidecarUrl, destination: "c" },
    ],
    { sidecarUrl: domains.domain("c").sidecarUrl, name: "worker" },
  );
}

function messagesToC(prefix: string, count: number): OutgoingMessage[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `${prefix}-${index}`,
    to: "worker@c",
    type: "topology.test",
    data: { index },
  }));
}

beforeAll(async () => {
  domains = await Domains.start({
    domains: ["a", "b", "c"],
    links: [
      ["a", "b"],
      ["b", "c"],
    ],
    perDomain: { c: { startLater: true } },
  });
});

afterEach(async () => {
  await agent?.stop();
  agent = undefined;
});

afterAll(async () => {
  await domains.stop();
});

describe("routes between domains follow the links (real gateway processes)", () => {
  it("a route to a third domain appears when it joins, and carries messages over two hops", async () => {
    // Before c runs: a's link to b is up, b's link to c is down, so a knows no route to c.
    await until(
      async () => linkTo(await topologyOf(gatewayUrl("a")), "b").state === "up",
      30_000,
      "a's link to b to come up",
    );
    await until(
      async () => linkTo(await topologyOf(gatewayUrl("b")), "c").state === "down",
      30_000,
      "b to find c unreachable",
    );
    const before = await topologyFromCli(gatewayUrl("a"));
    expect(routeTo(before, "b")).toMatchObject({ hops: 1, nextHop: "b" });
    expect(routeTo(before, "c")).toBeUndefined();
    expect(before.domains).not.toContain("c");

    await domains.startDomain("c");
    await until(
      async () => routeTo(await topologyOf(gatewayUrl("a")), "c"),
      30_000,
      "a to learn a route to c",
      async () => JSON.stringify((await topologyOf(gatewayUrl("a"))).routes),
    );
    const after = await topologyFromCli(gatewayUrl("a"));
    expect(routeTo(after, "c")).toEqual({ domain: "c", hops: 2, nextHop: "b", path: ["b", "c"] });
    expect(after.domains).toEqual(expect.arrayContaining(["a", "b", "c"]));

    // The route carries traffic: a → b → c, each message once.
    const receiver = new DedupingAgent(() => domains.domain("c").sidecarUrl, "worker").start();
    agent = receiver;
    const accepted = await sendMessages(() => domains.domain("a").sidecarUrl, messagesToC("join", 300));
    await receiver.untilDelivered(accepted, 60_000);
    await settled();
    const counts = receiver.counts(accepted);
    printCounts(SUITE, "route appears when c joins; a → b → c", counts, { route: routeTo(after, "c") });
    expect(counts).toEqual({ expected: 300, delivered: 300, duplicates: 0, lost: 0, unexpected: 0 });
    expect(receiver.processed[0]?.message.bmnvia).toBe("a,b");
  });

  it("the route disappears when its link dies, and messages sent meanwhile wait for it to come back", async () => {
    // Needs c from the previous test (one set of domains per file).
    expect(domains.domain("c").started).toBe(true);
    await domains.cut("b", "c");
    await until(
      async () => routeTo(await topologyOf(gatewayUrl("a")), "c") === undefined,
      30_000,
      "a's route to c to vanish",
      async () => JSON.stringify((await topologyOf(gatewayUrl("a"))).routes),
    );
    const cutView = await topologyFromCli(gatewayUrl("a"));
    expect(routeTo(cutView, "c")).toBeUndefined();
    expect(cutView.domains).not.toContain("c");
    expect(linkTo(cutView, "b").state).toBe("up");
    expect(linkTo(await topologyOf(gatewayUrl("b")), "c").state).toBe("down");

    // A domain that was reachable is waited for, not dead-lettered `unroutable`.
    const receiver = new DedupingAgent(() => domains.domain("c").sidecarUrl, "worker").start();
    agent = receiver;
    const accepted = await sendMessages(() => domains.domain("a").sidecarUrl, messagesToC("down", 200));
    const deliveredWhileDown = receiver.deliveries.size;

    await domains.heal("b", "c");
    await until(
      async () => routeTo(await topologyOf(gatewayUrl("a")), "c"),
      30_000,
      "a's route to c to come back",
    );
    await receiver.untilDelivered(accepted, 60_000);
    await settled();
    const counts = receiver.counts(accepted);
    const unroutable = await fetch(`${domains.domain("a").sidecarUrl}/v1/dlq?reason=unroutable`).then(
      (response) => response.json() as Promise<{ deadLetters: unknown[] }>,
    );
    printCounts(SUITE, "route vanishes with the b – c link; held messages delivered after heal", counts, {
      deliveredWhileDown,
      deadLetteredUnroutable: unroutable.deadLetters.length,
    });
    expect(unroutable.deadLetters).toEqual([]);
    expect(counts).toEqual({ expected: 200, delivered: 200, duplicates: 0, lost: 0, unexpected: 0 });
  });
});
