import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../test/conformance/helpers.js";
import { startRedis, type RedisServerHandle } from "../test/harness/redis-server.js";
import { SidecarProcess } from "./harness/sidecar-process.js";
import { Traffic } from "./harness/traffic.js";

const SENDERS = 8;
const PER_SENDER = 250;
const TOTAL = SENDERS * PER_SENDER;
/** The fault strikes once this many messages were accepted: mid-stream. */
const FAULT_AT = 700;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

async function scenario(
  fault: (sidecar: SidecarProcess, redis: RedisServerHandle) => Promise<void>,
): Promise<{ traffic: Traffic; acceptedAtFault: number }> {
  const redis = await startRedis({ appendOnly: true, appendFsyncAlways: true });
  cleanups.push(() => redis.cleanup());
  const sidecar = await SidecarProcess.start({ BMN_STORE: "redis", BMN_REDIS_URL: redis.url });
  cleanups.push(() => sidecar.stop());
  const traffic = new Traffic(() => sidecar.url, "worker");
  const receiving = traffic.receive(4);
  let faulted: Promise<void> | undefined;
  let acceptedAtFault = 0;
  await traffic.send(SENDERS, PER_SENDER, (accepted) => {
    if (accepted < FAULT_AT || faulted !== undefined) return;
    acceptedAtFault = accepted;
    faulted = fault(sidecar, redis);
  });
  await faulted;
  await waitFor(() => traffic.drained(), 90_000, "every accepted message to be delivered");
  traffic.stopReceiving();
  await receiving;
  return { traffic, acceptedAtFault };
}

describe("accepted means durable (real processes, Redis with appendfsync always)", () => {
  it("loses nothing when the sidecar is killed with SIGKILL mid-stream and restarted", async () => {
    const { traffic, acceptedAtFault } = await scenario(async (sidecar) => {
      await sidecar.kill();
      await sidecar.start();
    });
    const counts = traffic.counts(TOTAL);
    console.log(`sidecar kill -9: ${JSON.stringify(counts)}`);
    // The fault struck mid-stream: after some sends were accepted and before all were.
    expect(acceptedAtFault).toBeGreaterThanOrEqual(FAULT_AT);
    expect(acceptedAtFault).toBeLessThan(TOTAL);
    expect(counts.accepted).toBe(TOTAL);
    expect(counts.lost).toBe(0);
  });

  it("loses nothing when Redis is killed with SIGKILL mid-stream and restarted", async () => {
    const { traffic, acceptedAtFault } = await scenario(async (_sidecar, redis) => {
      await redis.kill();
      await redis.start();
    });
    const counts = traffic.counts(TOTAL);
    console.log(`redis kill -9: ${JSON.stringify(counts)}`);
    // The fault struck mid-stream: after some sends were accepted and before all were.
    expect(acceptedAtFault).toBeGreaterThanOrEqual(FAULT_AT);
    expect(acceptedAtFault).toBeLessThan(TOTAL);
    expect(counts.accepted).toBe(TOTAL);
    expect(counts.lost).toBe(0);
  });
});
