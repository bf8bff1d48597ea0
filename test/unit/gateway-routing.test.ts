import { describe, expect, it } from "vitest";
import { peerTrust } from "../../gateway/peer-trust.js";
import { RoutingTable, type RoutingLink } from "../../gateway/routing-table.js";
import { loopCheck, viaOf, withVia } from "../../gateway/via.js";
import { createMessage } from "../../core/envelope.js";

/** Links that may advertise any domain (the routing rules alone decide). */
function trusting(...peers: string[]): RoutingLink[] {
  return peers.map((domain) => ({ domain, routes: peerTrust({ domain, allowedRoutes: ["*"] }).routes }));
}

describe("routing table (distance vector)", () => {
  it("has no route before a probe, a direct route when the link is up, and learns routes through peers", () => {
    const table = new RoutingTable("a", 8, trusting("b", "d"));
    expect(table.routes()).toEqual([]);
    expect(table.nextHop("b")).toBe("b"); // a configured peer is still tried while down
    table.linkUp("b", [
      { domain: "b", hops: 0, path: ["b"] },
      { domain: "c", hops: 1, path: ["b", "c"] },
    ]);
    expect(table.route("c")).toEqual({ domain: "c", hops: 2, nextHop: "b", path: ["b", "c"] });
    expect(table.advertisement()).toContainEqual({ domain: "c", hops: 2, path: ["a", "b", "c"] });
  });

  it("picks the fewest hops, then the first next hop by name", () => {
    const table = new RoutingTable("a", 8, trusting("b", "d"));
    table.linkUp("b", [{ domain: "e", hops: 2, path: ["b", "x", "e"] }]);
    table.linkUp("d", [{ domain: "e", hops: 1, path: ["d", "e"] }]);
    expect(table.route("e")?.nextHop).toBe("d");
    table.linkUp("b", [{ domain: "e", hops: 1, path: ["b", "e"] }]);
    expect(table.route("e")?.nextHop).toBe("b");
  });

  it("never routes through its own domain, nor past maxHops", () => {
    const table = new RoutingTable("a", 3, trusting("b"));
    table.linkUp("b", [
      { domain: "c", hops: 2, path: ["b", "a", "c"] },
      { domain: "far", hops: 3, path: ["b", "x", "y", "far"] },
      { domain: "a", hops: 1, path: ["b", "a"] },
    ]);
    expect(table.routes().map((route) => route.domain)).toEqual(["b"]);
  });

  it("drops learned routes when the link dies or the peer stops advertising them, remembering they existed", () => {
    const table = new RoutingTable("a", 8, trusting("b"));
    table.linkUp("b", [{ domain: "c", hops: 1, path: ["b", "c"] }]);
    table.linkUp("b", []);
    expect(table.route("c")).toBeUndefined();
    expect(table.wasKnown("c")).toBe(true);
    expect(table.wasKnown("nowhere")).toBe(false);
    table.linkUp("b", [{ domain: "c", hops: 1, path: ["b", "c"] }]);
    table.linkDown("b");
    expect(table.routes()).toEqual([]);
    expect(table.nextHop("c")).toBeUndefined();
  });

  it("ignores inconsistent advertisements (path not starting at the peer, or hops not matching the path)", () => {
    const table = new RoutingTable("a", 8, trusting("b"));
    table.linkUp("b", [
      { domain: "c", hops: 1, path: ["x", "c"] },
      { domain: "d", hops: 5, path: ["b", "d"] },
    ]);
    expect(table.routes().map((route) => route.domain)).toEqual(["b"]);
  });
});

describe("hop history (bmnvia) and loop prevention", () => {
  it("appends the domain a message leaves, keeping its id", () => {
    const message = createMessage({ to: "x@c", type: "t" });
    const once = withVia(message, "a");
    const twice = withVia(once, "b");
    expect(twice.id).toBe(message.id);
    expect(viaOf(twice)).toEqual(["a", "b"]);
    expect(twice.bmnvia).toBe("a,b");
  });

  it("refuses a message that was here before or made too many hops", () => {
    expect(loopCheck(["a", "b"], "c", 8)).toBeUndefined();
    expect(loopCheck(["a", "c", "b"], "c", 8)).toMatch(/loop/);
    expect(loopCheck(["a", "b", "d"], "c", 2)).toMatch(/hop limit/);
  });
});

describe("routing table: what a link is trusted to advertise", () => {
  const own = (domain: string): RoutingLink => ({ domain, routes: peerTrust({ domain }).routes });

  it("takes only the peer's own domain by default", () => {
    const table = new RoutingTable("a", 8, [own("b")]);
    const outcome = table.linkUp("b", [
      { domain: "b", hops: 0, path: ["b"] },
      { domain: "c", hops: 1, path: ["b", "c"] },
    ]);
    expect(table.routes().map((route) => route.domain)).toEqual(["b"]);
    expect(outcome.ignored).toEqual([{ domain: "c", reason: "the link to b may advertise only b" }]);
    expect(table.wasKnown("c")).toBe(false);
  });

  it("never lets a peer take a configured link's domain (hijack with hops 0 or a shorter path)", () => {
    // b sorts before c, so a tie used to hand c's traffic to b.
    const table = new RoutingTable("a", 8, trusting("b", "c"));
    table.linkUp("c", [{ domain: "c", hops: 0, path: ["c"] }]);
    table.linkUp("b", [
      { domain: "c", hops: 0, path: ["b", "c"] },
      { domain: "c", hops: 0, path: ["c"] },
      { domain: "c", hops: 1, path: ["b", "c"] },
    ]);
    expect(table.nextHop("c")).toBe("c");
    expect(table.route("c")).toEqual({ domain: "c", hops: 1, nextHop: "c", path: ["c"] });
    // Also while c's link is down: c is waited for, not reached through b.
    table.linkDown("c");
    expect(table.route("c")).toBeUndefined();
    expect(table.nextHop("c")).toBe("c");
  });

  it("ignores names that are not DNS labels, paths not ending at the domain, loops and hop counts past the limit", () => {
    const table = new RoutingTable("a", 4, trusting("b"));
    const long = "x".repeat(300);
    const outcome = table.linkUp("b", [
      { domain: "../../etc", hops: 1, path: ["b", "../../etc"] },
      { domain: long, hops: 1, path: ["b", long] },
      { domain: "Upper", hops: 1, path: ["b", "Upper"] },
      { domain: "c", hops: 1, path: ["b", "d"] },
      { domain: "c", hops: 2, path: ["b", "../x", "c"] },
      { domain: "c", hops: 3, path: ["b", "d", "b", "c"] },
      { domain: "far", hops: 4, path: ["b", "x", "y", "z", "far"] },
      { domain: "c", hops: -1, path: [] },
    ]);
    expect(outcome.accepted).toBe(0);
    expect(outcome.ignored).toHaveLength(8);
    expect(table.routes().map((route) => route.domain)).toEqual(["b"]);
    // Nothing of it is passed on.
    expect(table.advertisement().map((route) => route.domain)).toEqual(["a", "b"]);
  });

  it("caps the routes taken from one peer", () => {
    const table = new RoutingTable("a", 8, trusting("b"), 10);
    const routes = Array.from({ length: 2_000 }, (_, index) => ({
      domain: `bogus-${index}`,
      hops: 1,
      path: ["b", `bogus-${index}`],
    }));
    const outcome = table.linkUp("b", routes);
    expect(outcome.accepted).toBe(10);
    expect(outcome.ignored).toHaveLength(1_990);
    expect(table.routes()).toHaveLength(11);
  });

  it("remembers vanished destinations (held, not unroutable) within a bound, never forgetting a peer", () => {
    const table = new RoutingTable("a", 8, trusting("b"), 10);
    table.linkUp("b", [{ domain: "c", hops: 1, path: ["b", "c"] }]);
    table.linkUp("b", []);
    expect(table.wasKnown("c")).toBe(true);
    // A peer churning through names: the set of remembered ones stays bounded (4 x cap x links), oldest out first.
    for (let round = 0; round < 20; round++)
      table.linkUp(
        "b",
        Array.from({ length: 10 }, (_, index) => {
          const domain = `churn-${String(round)}-${String(index)}`;
          return { domain, hops: 1, path: ["b", domain] };
        }),
      );
    expect(table.wasKnown("c")).toBe(false);
    expect(table.wasKnown("churn-0-0")).toBe(false);
    expect(table.wasKnown("churn-19-9")).toBe(true);
    expect(table.wasKnown("b")).toBe(true);
  });
});
