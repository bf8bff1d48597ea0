import { afterEach, describe, expect, it } from "vitest";
import type { GatewayConfigInput } from "../../../core/config.js";
import { startFakePeer, type FakePeer } from "./fake-peer.js";
import {
  eventually,
  receiveAll,
  send,
  startTopology,
  tokenFor,
  type DomainNode,
  type Topology,
} from "./gateway-fixture.js";

const EVIL_TOKEN = "token-evil-link-secret";

/** The peers of `node` as the topology configured them, plus the fake peer `evil`. */
function withEvilPeer(
  node: DomainNode,
  evil: FakePeer,
  honest: { domain: string; url: string }[],
  trust: { allowedRoutes?: string[]; allowedOrigins?: string[] } = {},
): Partial<GatewayConfigInput> {
  return {
    compression: { algorithm: "none" },
    peers: [
      ...honest.map((peer) => ({
        domain: peer.domain,
        endpoints: [peer.url],
        token: tokenFor(node.domain, peer.domain),
      })),
      { domain: evil.domain, endpoints: [evil.url], token: EVIL_TOKEN, ...trust },
    ],
  };
}

describe("gateway links are trusted only for the domains their config names", () => {
  let topology: Topology | undefined;
  let evil: FakePeer | undefined;
  afterEach(async () => {
    await topology?.close();
    await evil?.close();
    topology = undefined;
    evil = undefined;
  });

  it("a peer cannot take a configured link's traffic, even when trusted with every route", async () => {
    topology = await startTopology(["a", "c"], [["a", "c"]]);
    const a = topology.node("a");
    const c = topology.node("c");
    // "b" sorts before "c": a route of equal length through b used to win.
    evil = await startFakePeer("b", [
      { domain: "b", hops: 0, path: ["b"] },
      { domain: "c", hops: 0, path: ["b"] },
      { domain: "c", hops: 0, path: ["b", "c"] },
      { domain: "c", hops: 0, path: ["c"] },
    ]);
    const gateway = await a.startGateway(
      withEvilPeer(a, evil, [{ domain: "c", url: c.gatewayUrl }], { allowedRoutes: ["*"] }),
    );
    await eventually(
      () => (gateway.routing.isUp("b") && gateway.routing.isUp("c") ? true : undefined),
      "both links up",
    );
    expect(gateway.routing.route("c")).toEqual({ domain: "c", hops: 1, nextHop: "c", path: ["c"] });
    const sent = await send(a.sidecar, { to: "alice@c", type: "task" });
    expect(sent.status).toBe(202);
    expect((await receiveAll(c.sidecar, "alice", 1)).map((message) => message.id)).toEqual([sent.body.id]);
    expect(evil.batches).toEqual([]);
  });

  it("2000 bogus and invalid routes: at most maxRoutesPerPeer taken, none passed on, forwarders back to baseline", async () => {
    topology = await startTopology(["a", "d"], [["a", "d"]]);
    const a = topology.node("a");
    const d = topology.node("d");
    const bogus = Array.from({ length: 2_000 }, (_, index) => ({
      domain: `bogus-${String(index)}`,
      hops: 1,
      path: ["b", `bogus-${String(index)}`],
    }));
    const invalid = [
      { domain: "../../etc", hops: 1, path: ["b", "../../etc"] },
      { domain: "x".repeat(300), hops: 1, path: ["b", "x".repeat(300)] },
      { domain: "d", hops: 0, path: ["b"] },
    ];
    evil = await startFakePeer("b", [{ domain: "b", hops: 0, path: ["b"] }, ...invalid, ...bogus]);
    const gateway = await a.startGateway(
      withEvilPeer(a, evil, [{ domain: "d", url: d.gatewayUrl }], { allowedRoutes: ["*"] }),
    );
    const outboxes = async (): Promise<number> => (await gateway.topology()).outboxes.length;
    // Baseline: one forwarder per configured peer.
    await eventually(() => (gateway.routing.isUp("b") ? true : undefined), "link to b up");
    await eventually(
      () => (gateway.routing.routes().length === 2 + 256 ? true : undefined),
      "the two peers and 256 routes",
    );
    await eventually(async () => ((await outboxes()) === 2 + 256 ? true : undefined), "258 forwarders");
    expect(gateway.routing.route("d")?.nextHop).toBe("d");
    // What a tells d: no invalid name, nothing about d through b.
    const advertised = await fetch(`${a.gatewayUrl}/v1/gateway/routes`, {
      headers: { "bmn-source-domain": "d", authorization: `Bearer ${tokenFor("a", "d")}` },
    });
    const body = (await advertised.json()) as { routes: { domain: string }[] };
    expect(body.routes.every((route) => /^[a-z0-9-]{1,63}$/.test(route.domain))).toBe(true);
    expect(body.routes).toHaveLength(1 + 2 + 256);

    evil.routes = [{ domain: "b", hops: 0, path: ["b"] }];
    await eventually(async () => ((await outboxes()) === 2 ? true : undefined), "forwarders back to 2");
    expect(gateway.routing.routes().map((route) => route.domain)).toEqual(["b", "d"]);
  });

  it("by default a link carries only its peer's own domain", async () => {
    topology = await startTopology(["a"], []);
    const a = topology.node("a");
    evil = await startFakePeer("b", [
      { domain: "b", hops: 0, path: ["b"] },
      { domain: "e", hops: 1, path: ["b", "e"] },
    ]);
    const gateway = await a.startGateway(withEvilPeer(a, evil, []));
    await eventually(() => (gateway.routing.isUp("b") ? true : undefined), "link to b up");
    await gateway.links.probeAll();
    expect(gateway.routing.routes().map((route) => route.domain)).toEqual(["b"]);
  });

  it("does not buffer an advertisement over the answer cap: the probe fails", async () => {
    topology = await startTopology(["a"], []);
    const a = topology.node("a");
    evil = await startFakePeer("b");
    evil.routes = ["x".repeat(9 * 1024 * 1024)];
    const gateway = await a.startGateway(withEvilPeer(a, evil, [], { allowedRoutes: ["*"] }));
    const error = await eventually(() => gateway.links.status.get("b")?.lastError, "a failed probe");
    expect(error).toMatch(/over 8388608 bytes/);
    expect(gateway.routing.isUp("b")).toBe(false);
  });

  it("refuses messages a peer hands in for an origin outside its allowance, so allowedSourceAgents holds", async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      perDomain: { b: { policy: { allowedSourceAgents: ["boss@c", "worker"] } } },
    });
    const a = topology.node("a");
    const b = topology.node("b");
    const message = (id: string, extra: Record<string, string>): Record<string, string> => ({
      specversion: "1.0",
      id,
      source: "bmn://a/x",
      type: "task",
      to: "victim@b",
      ...extra,
    });
    const response = await fetch(`${b.gatewayUrl}/v1/gateway/batches`, {
      method: "POST",
      headers: {
        "content-type": "application/json",
        "bmn-source-domain": "a",
        authorization: `Bearer ${tokenFor("a", "b")}`,
      },
      body: JSON.stringify({
        messages: [
          message("spoofed-origin", { from: "boss@c", bmnvia: "c,a" }),
          message("spoofed-from", { from: "boss@c", bmnvia: "a" }),
          message("not-from-the-peer", { from: "boss@c", bmnvia: "c" }),
          message("bad-history", { from: "worker", bmnvia: "../x,a" }),
          message("honest", { from: "worker", bmnvia: "a" }),
        ],
      }),
    });
    expect(response.status).toBe(200);
    const { results } = (await response.json()) as {
      results: { id: string; status: string; reason?: string }[];
    };
    expect(results.map(({ id, status, reason }) => ({ id, status, reason }))).toEqual([
      { id: "spoofed-origin", status: "refused", reason: "forbidden" },
      { id: "spoofed-from", status: "refused", reason: "forbidden" },
      { id: "not-from-the-peer", status: "refused", reason: "forbidden" },
      { id: "bad-history", status: "refused", reason: "invalid" },
      { id: "honest", status: "accepted", reason: undefined },
    ]);
    expect((await b.store.queueStats("victim")).depth).toBe(1);

    // The same through a's sidecar: dead-lettered forbidden in a, never in b.
    const sent = await send(a.sidecar, { to: "victim@b", from: "boss@c", type: "task" });
    expect(sent.status).toBe(202);
    const letter = await eventually(
      async () =>
        (await a.store.listDeadLetters({ reason: "forbidden" })).find(
          (entry) => entry.message.id === sent.body.id,
        ),
      "a forbidden dead letter in a",
    );
    expect(letter.lastError).toMatch(/from boss@c names domain c/);
    expect((await b.store.queueStats("victim")).depth).toBe(1);
  });
});
