import { describe, expect, it } from "vitest";
import { createMessage } from "../../core/envelope.js";
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

  it("reports queue gauges for at most maxAgentLabels agents and sums the rest under _other", async () => {
    const store = new InMemoryStore();
    for (const [agent, count] of [
      ["q1", 1],
      ["q2", 2],
      ["q3", 3],
      ["q4", 4],
    ] as const)
      for (let index = 0; index < count; index += 1)
        await store.enqueue(agent, createMessage({ to: agent, type: "t" }, { source: "test" }));
    const metrics = new SidecarMetrics(store, { maxAgentLabels: 2 });
    const values = (await metrics.registry.getSingleMetric("bmn_queue_depth")?.get())?.values ?? [];
    const byAgent = Object.fromEntries(values.map((value) => [String(value.labels.agent), value.value]));
    expect(Object.keys(byAgent)).toHaveLength(3);
    expect(byAgent[OTHER_AGENTS_LABEL]).toBeGreaterThan(0);
    expect(Object.values(byAgent).reduce((sum, depth) => sum + depth, 0)).toBe(10);
  });
});
