import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../sidecar/start-sidecar.js";
import { RedisStore } from "../../store/redis/redis-store.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";
import { http } from "./sidecar/sidecar-fixture.js";

// A sidecar that shuts down (a pod scaled down or rolled) gives back the leases its agent took over HTTP and did
// not settle: another sidecar's agent gets those messages at once, not after the lease runs out.

interface Deliveries {
  deliveries: { leaseId: string; attempt: number; message: { id: string } }[];
}

describe("a sidecar shutting down", () => {
  let redis: RedisServerHandle;
  const sidecars: RunningSidecar[] = [];

  async function sidecar(): Promise<RunningSidecar> {
    const store = await RedisStore.connect({ url: redis.url }, { keyPrefix: "drain:" });
    const started = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, {}), {
      store,
      logger: false,
    });
    sidecars.push(started);
    return started;
  }

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    for (const started of sidecars) await started.close();
    await redis.cleanup();
  });

  it("nacks what its agent leased and did not ack, so another pod gets it before the lease would expire", async () => {
    const leaving = await sidecar();
    for (const id of ["m1", "m2", "m3"]) {
      const sent = await http(leaving.url, "POST", "/v1/messages", {
        json: { id, to: "worker", type: "job" },
      });
      expect(sent.status).toBe(202);
    }
    // Leased for 10 minutes: only a give-back can make them visible again within this test.
    const taken = await http<Deliveries>(leaving.url, "GET", "/v1/agents/worker/messages?max=3&lease=600");
    expect(taken.body.deliveries).toHaveLength(3);
    const [first] = taken.body.deliveries;
    const acked = await http(leaving.url, "POST", `/v1/deliveries/${first?.leaseId ?? ""}/ack`);
    expect(acked.status).toBe(204);

    await leaving.close();

    const staying = await sidecar();
    const again = await http<Deliveries>(staying.url, "GET", "/v1/agents/worker/messages?max=10");
    const redelivered = again.body.deliveries.map((delivery) => delivery.message.id).sort();
    expect(redelivered).toEqual(
      taken.body.deliveries
        .slice(1)
        .map((delivery) => delivery.message.id)
        .sort(),
    );
    expect(again.body.deliveries.every((delivery) => delivery.attempt === 2)).toBe(true);
    // The give-back is in each message's trace (written before the store closed), so a redelivery is explained.
    for (const id of redelivered) {
      const trace = await http<{ events: { kind: string; attempt?: number; reason?: string }[] }>(
        staying.url,
        "GET",
        `/v1/messages/${id}/trace`,
      );
      expect(trace.body.events).toContainEqual(
        expect.objectContaining({ kind: "nacked", attempt: 1, reason: "sidecar shutting down" }),
      );
    }
  });
});
