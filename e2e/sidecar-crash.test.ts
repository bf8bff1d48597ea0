import { afterEach, describe, it } from "vitest";
import { startRedis } from "../test/harness/redis-server.js";
import { runCrashScenario } from "./harness/crash-scenario.js";

const cleanups: (() => Promise<void>)[] = [];
const onCleanup = (cleanup: () => Promise<void>): void => {
  cleanups.push(cleanup);
};
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("accepted means durable (real processes, Redis with appendfsync always)", () => {
  it.each(["sidecar", "redis"] as const)(
    "loses nothing when the %s is killed with SIGKILL mid-stream and restarted",
    async (victim) => {
      const redis = await startRedis({ appendOnly: true, appendFsyncAlways: true });
      onCleanup(() => redis.cleanup());
      const counts = await runCrashScenario({
        sidecarEnv: { BMN_STORE: "redis", BMN_REDIS_URL: redis.url },
        senders: 8,
        perSender: 250,
        faultAt: 700,
        onCleanup,
        fault: async (sidecar) => {
          const process = victim === "sidecar" ? sidecar : redis;
          await process.kill();
          await process.start();
        },
      });
      console.log(`redis store, ${victim} kill -9: ${JSON.stringify(counts)}`);
    },
  );
});
