import { describe, expect, it } from "vitest";
import { analyticsOf, hasAnalytics } from "../../store/roles/analytics.js";
import { useStores } from "./helpers.js";
import type { StoreFactory } from "./store-conformance.js";

/** The StoreLifecycle role (kind, durable, ping, memoryStatus), and the optional analytics role. */
export function describeLifecycleRole(factory: StoreFactory): void {
  const open = useStores(factory);

  describe("role: lifecycle", () => {
    it("names its kind, says whether it is durable, and answers ping", async () => {
      const store = await open();
      expect(["memory", "redis", "sql"]).toContain(store.kind);
      expect(store.durable).toBe(store.kind !== "memory");
      await expect(store.ping()).resolves.toBeUndefined();
    });

    it("reports memory use only where the backend has a limit, with a sane shape", async () => {
      const status = await (await open()).memoryStatus();
      if (status === undefined) return;
      expect(status.usedBytes).toBeGreaterThan(0);
      expect(status.maxBytes).toBeGreaterThanOrEqual(0);
      expect(typeof status.policy).toBe("string");
    });

    it("has the analytics role exactly when it is the sql store (looking through wrappers)", async () => {
      const store = await open();
      expect(analyticsOf(store) !== undefined).toBe(store.kind === "sql");
      if (hasAnalytics(store)) expect(store.kind).toBe("sql");
    });
  });
}
