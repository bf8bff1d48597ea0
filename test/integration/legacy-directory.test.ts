import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BridgeMetrics } from "../../bridge/common/bridge-metrics.js";
import { LegacyDirectory } from "../../bridge/legacy/legacy-directory.js";
import { RecentIds } from "../../bridge/legacy/recent-ids.js";
import { BmnClient } from "../../client/index.js";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";
import { until } from "../harness/poll-until.js";

// The legacy agents a bridge carries (one BMN queue poll each per round) follow the registry: one that went
// offline is dropped, and announcements past the cap are refused and counted, whoever publishes them.
describe("the legacy bridge's directory, against a real sidecar", () => {
  let sidecar: RunningSidecar;
  let client: BmnClient;
  // Only presence scans and announcements use the legacy Redis; these tests make neither.
  const unusedRedis = new Redis({ lazyConnect: true });

  beforeAll(async () => {
    sidecar = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, {}), {
      store: new InMemoryStore(),
      logger: false,
    });
    client = new BmnClient({ url: sidecar.url, agent: "legacy-bridge" });
  });
  afterAll(async () => {
    unusedRedis.disconnect();
    await sidecar.close();
  });

  function directory(metrics: BridgeMetrics, maxLegacyAgents?: number): LegacyDirectory {
    return new LegacyDirectory(client, unusedRedis, metrics, new RecentIds(), {
      agent: "legacy-bridge",
      offlineAfterMs: 1_000,
      ...(maxLegacyAgents === undefined ? {} : { maxLegacyAgents }),
    });
  }

  it("drops a legacy agent once its registration lapses", async () => {
    const metrics = new BridgeMetrics("legacy");
    const carried = directory(metrics);
    await carried.legacyAnnounced("Legacy_Carol", ["ops"]);
    await carried.refresh();
    expect([...carried.legacyAgents().values()]).toContain("Legacy_Carol");
    await until(
      async () => {
        await carried.refresh();
        return ![...carried.legacyAgents().values()].includes("Legacy_Carol");
      },
      10_000,
      "carol dropped after her registration lapsed",
    );
    const gauge = await metrics.registry.getSingleMetricAsString("bmn_bridge_legacy_agents");
    expect(gauge).toMatch(/bmn_bridge_legacy_agents 0$/m);
  });

  it("carries at most its cap of legacy agents; more announcements are dropped and counted", async () => {
    const metrics = new BridgeMetrics("legacy");
    const capped = directory(metrics, 2);
    for (const id of ["spam-1", "spam-2", "spam-3", "spam-4"]) await capped.legacyAnnounced(id, []);
    expect(capped.legacyAgents().size).toBe(2);
    expect(metrics.snapshot()).toMatchObject({
      "legacy-presence-in/bridged": 2,
      "legacy-presence-in/dropped": 2,
    });
    expect((await client.agents()).filter((agent) => agent.name.startsWith("spam-"))).toHaveLength(2);
  });
});
