import { afterEach, describe, expect, it } from "vitest";
import { waitFor } from "../test/conformance/helpers.js";
import { startMariaDb } from "../test/harness/mariadb-server.js";
import { SidecarProcess } from "./harness/sidecar-process.js";
import { Traffic } from "./harness/traffic.js";

const SENDERS = 8;
const PER_SENDER = 100;
const TOTAL = SENDERS * PER_SENDER;
/** The fault strikes once this many messages were accepted: mid-stream. */
const FAULT_AT = 300;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

describe("accepted means durable on the SQL store (real processes, MariaDB with a flush at every commit)", () => {
  it.each(["sidecar", "database"] as const)(
    "loses nothing when the %s is killed with SIGKILL mid-stream and restarted",
    async (victim) => {
      const database = await startMariaDb({ durable: true });
      cleanups.push(() => database.cleanup());
      const sidecar = await SidecarProcess.start({ BMN_STORE: "tidb", BMN_TIDB_URL: database.url });
      cleanups.push(() => sidecar.stop());
      const traffic = new Traffic(() => sidecar.url, "worker");
      const receiving = traffic.receive(4);
      let faulted: Promise<void> | undefined;
      let acceptedAtFault = 0;
      await traffic.send(SENDERS, PER_SENDER, (accepted) => {
        if (accepted < FAULT_AT || faulted !== undefined) return;
        acceptedAtFault = accepted;
        faulted = (async () => {
          if (victim === "sidecar") {
            await sidecar.kill();
            await sidecar.start();
          } else {
            await database.kill();
            await database.start();
          }
        })();
      });
      await faulted;
      await waitFor(() => traffic.drained(), 90_000, "every accepted message to be delivered");
      traffic.stopReceiving();
      await receiving;
      const counts = traffic.counts(TOTAL);
      console.log(`sql store, ${victim} kill -9: ${JSON.stringify(counts)}`);
      expect(acceptedAtFault).toBeGreaterThanOrEqual(FAULT_AT);
      expect(acceptedAtFault).toBeLessThan(TOTAL);
      expect(counts.accepted).toBe(TOTAL);
      expect(counts.lost).toBe(0);
    },
  );
});
