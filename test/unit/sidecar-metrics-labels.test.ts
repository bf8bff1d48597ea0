import { describe, expect, it } from "vitest";
import { OTHER_AGENTS_LABEL, SidecarMetrics } from "../../sidecar/sidecar-metrics.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";

describe("sidecar metric labels", () => {
  it("keeps at most maxAgentLabels agent values and counts the rest as _other", async () => {
    const metrics = new SidecarMetrics(new InMemoryStore(), { maxAgentLabels: 2 });
    for (const agent of ["a", "b", "c", "d", "a"]) metrics.delivered.inc({ agent }, 1);
    const metric = metrics.registry.getSingleMetric("bmn_messages_delivered_total");
    expect(metric).toBeDefined();
    const values = (await metric?.get())?.values ?? [];
    const byAgent = Object.fromEntries(values.map((value) => [String(value.labels.agent), value.value]));
    expect(byAgent).toEqual({ a: 2, b: 1, [OTHER_AGENTS_LABEL]: 2 });
  });
});
