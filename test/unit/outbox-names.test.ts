import { describe, expect, it } from "vitest";
import { createMessage } from "../../core/envelope.js";
import {
  agentNameSchema,
  isOutboxQueue,
  outboxDomain,
  outboxQueueName,
  queueNameSchema,
  type AgentAddress,
  type DomainName,
} from "../../core/names.js";
import { Router } from "../../sidecar/routing/router.js";
import { formatLeaseId, parseLeaseId } from "../../store/lease-id.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import type { MessageId } from "../../core/ids.js";

const domain = (name: string): DomainName => name as DomainName;

describe("outbox queue names", () => {
  it("outboxQueueName, isOutboxQueue and outboxDomain agree", () => {
    const name = outboxQueueName(domain("team-b"));
    expect(name).toBe("bmn.out.team-b");
    expect(isOutboxQueue(name)).toBe(true);
    expect(outboxDomain(name)).toBe("team-b");
    const longest = outboxQueueName(domain("a".repeat(63)));
    expect(longest).toHaveLength(71);
    expect(outboxDomain(longest)).toBe("a".repeat(63));
  });

  it("nothing else is an outbox, and no outbox is an agent name", () => {
    for (const other of [
      "bmn.out.",
      "bmn.out.A",
      "bmn.out.a.b",
      "bmn.out.-a",
      `bmn.out.${"a".repeat(64)}`,
      "bmn",
      "alice",
    ]) {
      expect(isOutboxQueue(other), other).toBe(false);
      expect(outboxDomain(other), other).toBeUndefined();
    }
    expect(agentNameSchema.safeParse("bmn.out.b").success).toBe(false);
    expect(queueNameSchema.safeParse("bmn.out.b").success).toBe(true);
    expect(queueNameSchema.safeParse("alice").success).toBe(true);
    expect(queueNameSchema.safeParse("bmn.out.B").success).toBe(false);
    expect(queueNameSchema.safeParse(7).success).toBe(false);
  });

  it("lease ids of outbox deliveries round-trip, message ids with dots included", () => {
    const lease = { agent: outboxQueueName(domain("b")), id: "m.1.x" as MessageId, token: "42" };
    expect(formatLeaseId(lease)).toBe("bmn.out.b.m.1.x.42");
    expect(parseLeaseId(formatLeaseId(lease))).toEqual(lease);
    expect(parseLeaseId("alice.m-1.3")).toEqual({ agent: "alice", id: "m-1", token: "3" });
    for (const bad of ["bmn.out..m.1", "bmn.out.B.m.1", "bmn.out.b.1", "bmn.out.b"]) {
      expect(() => parseLeaseId(bad), bad).toThrow(/not found|unknown/i);
    }
  });
});

describe("Router.queueFor", () => {
  const store = new InMemoryStore();
  const address = (value: string): AgentAddress => value as AgentAddress;

  it("routes own-domain and bare names locally, other domains to their outbox when crossDomain is on", () => {
    const router = new Router(store, domain("a"), { crossDomain: true });
    expect(router.crossDomain).toBe(true);
    expect(router.queueFor(address("bob"))).toBe("bob");
    expect(router.queueFor(address("bob@a"))).toBe("bob");
    expect(router.queueFor(address("bob@b"))).toBe("bmn.out.b");
    expect(() => {
      router.check(createMessage({ type: "t", to: "bob@b" }));
    }).not.toThrow();
  });

  it("refuses other domains with UNROUTABLE (field to) when crossDomain is off", () => {
    const router = new Router(store, domain("a"));
    expect(router.crossDomain).toBe(false);
    expect(() => router.queueFor(address("bob@b"))).toThrow(
      expect.objectContaining({ code: "UNROUTABLE", field: "to" }) as Error,
    );
    expect(() => {
      router.check(createMessage({ type: "t", to: "bob@b" }));
    }).toThrow(/no route/);
  });
});
