import { expect } from "vitest";
import { waitFor } from "../../test/conformance/helpers.js";
import { startSidecar, type SidecarProcess } from "./sidecar-process.js";
import { Traffic, type TrafficCounts } from "./traffic.js";

export interface CrashScenario {
  /** Environment of the `bmn start` process (store settings). */
  sidecarEnv: Record<string, string>;
  senders: number;
  perSender: number;
  /** The fault strikes once this many messages were accepted. */
  faultAt: number;
  fault: (sidecar: SidecarProcess) => Promise<void>;
  /** Registers cleanup to run after the test. */
  onCleanup: (cleanup: () => Promise<void>) => void;
}

/**
 * Senders and ack-ing receivers run against a real sidecar process while `fault` strikes mid-stream; then waits
 * until every accepted message was delivered, asserts none was lost, and answers the counts.
 */
export async function runCrashScenario(scenario: CrashScenario): Promise<TrafficCounts> {
  const total = scenario.senders * scenario.perSender;
  const sidecar = await startSidecar(scenario.sidecarEnv);
  scenario.onCleanup(() => sidecar.stop());
  const traffic = new Traffic(() => sidecar.url, "worker");
  const receiving = traffic.receive(4);
  let faulted: Promise<void> | undefined;
  let acceptedAtFault = 0;
  await traffic.send(scenario.senders, scenario.perSender, (accepted) => {
    if (accepted < scenario.faultAt || faulted !== undefined) return;
    acceptedAtFault = accepted;
    faulted = scenario.fault(sidecar);
  });
  await faulted;
  await waitFor(() => traffic.drained(), 90_000, "every accepted message to be delivered");
  traffic.stopReceiving();
  await receiving;
  const counts = traffic.counts(total);
  // The fault struck mid-stream: after some sends were accepted and before all were.
  expect(acceptedAtFault).toBeGreaterThanOrEqual(scenario.faultAt);
  expect(acceptedAtFault).toBeLessThan(total);
  expect(counts.accepted).toBe(total);
  expect(counts.lost).toBe(0);
  return counts;
}
