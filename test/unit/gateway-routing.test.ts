import { describe, expect, it } from "vitest";
import { RoutingTable } from "../../gateway/routing-table.js";
import { loopCheck, viaOf, withVia } from "../../gateway/via.js";
import { createMessage } from "../../core/envelope.js";

describe("routing table (distance vector)", () => {
  it("has no route before a probe, a direct route when the link is up, and learns routes through peers", () => {
    const table = new RoutingTable("a", 8, ["b", "d"]);
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
    const table = new RoutingTable("a", 8, ["b", "d"]);
    table.linkUp("b", [{ domain: "e", hops: 2, path: ["b", "x", "e"] }]);
    table.linkUp("d", [{ domain: "e", hops: 1, path: ["d", "e"] }]);
    expect(table.route("e")?.nextHop).toBe("d");
    table.linkUp("b", [{ domain: "e", hops: 1, path: ["b", "e"] }]);
    expect(table.route("e")?.nextHop).toBe("b");
  });

  it("never routes through its own domain, nor past maxHops", () => {
    const table = new RoutingTable("a", 3, ["b"]);
    table.linkUp("b", [
      { domain: "c", hops: 2, path: ["b", "a", "c"] },
      { domain: "far", hops: 3, path: ["b", "x", "y", "far"] },
      { domain: "a", hops: 1, path: ["b", "a"] },
    ]);
    expect(table.routes().map((route) => route.domain)).toEqual(["b"]);
  });

  it("drops learned routes when the link dies or the peer stops advertising them, remembering they existed", () => {
    const table = new RoutingTable("a", 8, ["b"]);
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
    const table = new RoutingTable("a", 8, ["b"]);
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
