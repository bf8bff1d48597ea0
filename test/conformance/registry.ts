import { describe, expect, it } from "vitest";
import { expectBmnError, useStores, waitFor } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

const FIVE_MINUTES = 5 * 60_000;
const SLACK_MS = 50;

const names = (records: readonly { name: string }[]): string[] => records.map((r) => r.name).sort();

export function describeRegistry(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("agent registry", () => {
    it("registerAgent answers the record, with a 5 minute default ttl", async () => {
      const store = await open();
      const before = Date.now();
      const record = await store.registerAgent({
        name: "reviewer",
        capabilities: ["code-review", "python"],
        metadata: { team: "platform", version: "1.2.3" },
      });
      const after = Date.now();
      expect(record).toMatchObject({
        name: "reviewer",
        capabilities: ["code-review", "python"],
        metadata: { team: "platform", version: "1.2.3" },
      });
      expect(record.registeredAt).toBeGreaterThanOrEqual(before - SLACK_MS);
      expect(record.registeredAt).toBeLessThanOrEqual(after + SLACK_MS);
      expect(record.lastSeenAt).toBeGreaterThanOrEqual(record.registeredAt);
      expect(record.expiresAt).toBeGreaterThanOrEqual(before + FIVE_MINUTES - SLACK_MS);
      expect(record.expiresAt).toBeLessThanOrEqual(after + FIVE_MINUTES + SLACK_MS);
    });

    it("defaults capabilities and metadata to empty", async () => {
      const store = await open();
      const record = await store.registerAgent({ name: "bare" });
      expect(record).toMatchObject({ name: "bare", capabilities: [], metadata: {} });
      expect((await store.listAgents())[0]).toMatchObject({ name: "bare", capabilities: [], metadata: {} });
    });

    it("listAgents lists live agents and filters by capability", async () => {
      const store = await open();
      await store.registerAgent({ name: "reviewer", capabilities: ["code-review", "python"] });
      await store.registerAgent({ name: "coder", capabilities: ["python", "typescript"] });
      await store.registerAgent({ name: "writer", capabilities: ["docs"] });

      expect(names(await store.listAgents())).toEqual(["coder", "reviewer", "writer"]);
      expect(names(await store.listAgents({ capability: "python" }))).toEqual(["coder", "reviewer"]);
      expect(names(await store.listAgents({ capability: "docs" }))).toEqual(["writer"]);
      expect(await store.listAgents({ capability: "cobol" })).toEqual([]);
      const reviewer = (await store.listAgents()).find((a) => a.name === "reviewer");
      expect(reviewer?.capabilities).toEqual(["code-review", "python"]);
    });

    it("registering again replaces the record rather than adding a second one", async () => {
      const store = await open();
      await store.registerAgent({ name: "reviewer", capabilities: ["python"] });
      await store.registerAgent({ name: "reviewer", capabilities: ["rust"], metadata: { v: "2" } });
      const all = await store.listAgents();
      expect(all).toHaveLength(1);
      expect(all[0]).toMatchObject({ name: "reviewer", capabilities: ["rust"], metadata: { v: "2" } });
      expect(await store.listAgents({ capability: "python" })).toEqual([]);
    });

    it("heartbeat extends the registration", async () => {
      const store = await open();
      const registered = await store.registerAgent({ name: "reviewer", ttlMs: 10_000 });
      const before = Date.now();
      const beat = await store.heartbeat("reviewer", 120_000);
      const after = Date.now();
      expect(beat.name).toBe("reviewer");
      expect(beat.registeredAt).toBe(registered.registeredAt);
      expect(beat.lastSeenAt).toBeGreaterThanOrEqual(registered.lastSeenAt);
      expect(beat.expiresAt).toBeGreaterThanOrEqual(before + 120_000 - SLACK_MS);
      expect(beat.expiresAt).toBeLessThanOrEqual(after + 120_000 + SLACK_MS);
      expect((await store.listAgents())[0]?.expiresAt).toBe(beat.expiresAt);
    });

    it("heartbeat keeps a short registration alive past its first ttl", async () => {
      const store = await open();
      await store.registerAgent({ name: "short", ttlMs: 150 });
      await store.heartbeat("short", 60_000);
      // Long enough for the original 150 ms ttl to lapse.
      expect(await store.receive("short", { waitMs: 300 })).toEqual([]);
      expect(names(await store.listAgents())).toEqual(["short"]);
      await store.heartbeat("short");
    });

    it("heartbeat of an unknown agent throws NOT_FOUND", async () => {
      const store = await open();
      await expectBmnError(() => store.heartbeat("ghost"), "NOT_FOUND");
      expect(await store.listAgents()).toEqual([]);
    });

    it("an expired registration disappears from listAgents and cannot heartbeat", async () => {
      const store = await open();
      // Taken before the registration, whose ttl counts from a later moment: it cannot lapse within 100 ms of this.
      const start = Date.now();
      await store.registerAgent({ name: "short", ttlMs: 100 });
      await store.registerAgent({ name: "long", ttlMs: 60_000 });
      expect(names(await store.listAgents())).toEqual(["long", "short"]);
      await waitFor(
        async () => !(await store.listAgents()).some((a) => a.name === "short"),
        3_000,
        "the short registration to lapse",
      );
      expect(Date.now() - start).toBeGreaterThanOrEqual(100);
      expect(names(await store.listAgents())).toEqual(["long"]);
      await expectBmnError(() => store.heartbeat("short"), "NOT_FOUND");
      // It can register again.
      await store.registerAgent({ name: "short" });
      expect(names(await store.listAgents())).toEqual(["long", "short"]);
    });

    it("deregisterAgent removes the agent and answers whether it existed", async () => {
      const store = await open();
      await store.registerAgent({ name: "reviewer", capabilities: ["python"] });
      await store.registerAgent({ name: "coder", capabilities: ["python"] });
      expect(await store.deregisterAgent("reviewer")).toBe(true);
      expect(await store.deregisterAgent("reviewer")).toBe(false);
      expect(await store.deregisterAgent("ghost")).toBe(false);
      expect(names(await store.listAgents())).toEqual(["coder"]);
      expect(names(await store.listAgents({ capability: "python" }))).toEqual(["coder"]);
      await expectBmnError(() => store.heartbeat("reviewer"), "NOT_FOUND");
    });
  });
}
