import { describe, expect, it } from "vitest";
import { useInjectedSidecar } from "./injected-sidecar.js";

// bmn_sidecar_leases_held drives pod-deletion-cost and the give-back on SIGTERM: every way of settling counts.
describe("the leases a sidecar's agent holds", () => {
  const sidecar = useInjectedSidecar();

  async function held(): Promise<number> {
    const metrics = await sidecar().inject({ method: "GET", url: "/metrics" });
    const line = /^bmn_sidecar_leases_held (\d+)$/m.exec(metrics.body);
    return Number(line?.[1]);
  }

  async function leaseThree(agent: string): Promise<string[]> {
    for (let index = 0; index < 3; index++) {
      const sent = await sidecar().inject({
        method: "POST",
        url: "/v1/messages",
        payload: { to: agent, type: "t" },
      });
      expect(sent.statusCode).toBe(202);
    }
    const received = await sidecar().inject({
      method: "GET",
      url: `/v1/agents/${agent}/messages?max=3&lease=600`,
    });
    return received
      .json<{ deliveries: { leaseId: string }[] }>()
      .deliveries.map((delivery) => delivery.leaseId);
  }

  it("a batch ack settles what it acked and what was already gone", async () => {
    const [first, ...rest] = await leaseThree("batch");
    expect(await held()).toBe(3);
    expect(
      (await sidecar().inject({ method: "POST", url: `/v1/deliveries/${first ?? ""}/ack` })).statusCode,
    ).toBe(204);
    expect(await held()).toBe(2);
    const answer = await sidecar().inject({
      method: "POST",
      url: "/v1/deliveries:ack",
      payload: { leaseIds: [first, ...rest] },
    });
    expect(answer.json()).toMatchObject({
      acked: rest,
      failed: [{ leaseId: first, code: "LEASE_NOT_FOUND" }],
    });
    expect(await held()).toBe(0);
  });

  it("a nack settles; an extended lease is still held", async () => {
    const [nacked, extended, acked] = await leaseThree("mixed");
    await sidecar().inject({
      method: "POST",
      url: `/v1/deliveries/${nacked ?? ""}/nack`,
      payload: { delayMs: 60_000 },
    });
    const extension = await sidecar().inject({
      method: "POST",
      url: `/v1/deliveries/${extended ?? ""}/extend`,
      payload: { leaseMs: 600_000 },
    });
    expect(extension.statusCode).toBe(200);
    await sidecar().inject({ method: "POST", url: `/v1/deliveries/${acked ?? ""}/ack` });
    expect(await held()).toBe(1);
  });
});
