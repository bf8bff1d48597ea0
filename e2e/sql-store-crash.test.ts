import { afterEach, describe, it } from "vitest";
import { startMariaDb } from "../test/harness/mariadb-server.js";
import { runCrashScenario } from "./harness/crash-scenario.js";

const cleanups: (() => Promise<void>)[] = [];
const onCleanup = (cleanup: () => Promise<void>): void => {
  cleanups.push(cleanup);
};
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("accepted means durable on the SQL store (real processes, MariaDB with a flush at every commit)", () => {
  it.each(["sidecar", "database"] as const)(
    "loses nothing when the %s is killed with SIGKILL mid-stream and restarted",
    async (victim) => {
      const database = await startMariaDb({ durable: true });
      onCleanup(() => database.cleanup());
      const counts = await runCrashScenario({
        sidecarEnv: { BMN_STORE: "sql", BMN_SQL_URL: database.url },
        senders: 8,
        perSender: 100,
        faultAt: 300,
        onCleanup,
        fault: async (sidecar) => {
          const process = victim === "sidecar" ? sidecar : database;
          await process.kill();
          await process.start();
        },
      });
      console.log(`sql store, ${victim} kill -9: ${JSON.stringify(counts)}`);
    },
  );
});
