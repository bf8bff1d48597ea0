import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { printTable } from "../test/harness/text-table.js";
import {
  BackendUnderTest,
  COUNT_COLUMNS,
  faultsOf,
  tableRows,
  type Backend,
  type CellResult,
  type Fault,
  type CellSettings,
} from "./history/cells.js";

/**
 * The Jepsen-style history check (docs/testing-faults.md): workers record every send, receive, ack and nack against
 * real sidecars while a fault strikes, and the checker (e2e/history/checker.ts) asserts that nothing accepted was
 * lost, nothing unexpected was delivered, and no ack on an expired or superseded lease was accepted.
 * BMN_HISTORY_SECONDS sets the seconds of traffic per cell (default 2; a soak run might use 60), and
 * BMN_HISTORY_CELLS picks cells.
 */

const settings: CellSettings = {
  trafficSeconds: Number(process.env.BMN_HISTORY_SECONDS ?? "2"),
  leaseMs: 1_500,
  drainTimeoutMs: 30_000,
};
const results: CellResult[] = [];

afterAll(() => {
  printTable(
    `history check, ${settings.trafficSeconds} s of traffic per cell, lease ${settings.leaseMs} ms`,
    ["backend", "fault", ...COUNT_COLUMNS.map(([, header]) => header)],
    tableRows(results),
  );
});

/**
 * Cells that found a bug in the bus, skipped until its owner fixes it (BMN_HISTORY_KNOWN_BUGS=run runs them). A skip,
 * not it.fails: the bug shows only when the fault strikes while an ack is in flight, so the cell does not fail
 * every time.
 */
const KNOWN_BUGS: Partial<Record<`${Backend}:${Fault}`, string>> = {};

/** BMN_HISTORY_CELLS=redis:store-kill,sql picks cells (backend, or backend:fault); default all. */
const picked = (process.env.BMN_HISTORY_CELLS ?? "").split(",").filter((cell) => cell !== "");
function selected(backend: Backend, fault: string): boolean {
  return picked.length === 0 || picked.some((cell) => cell === backend || cell === `${backend}:${fault}`);
}

const BACKENDS = (["memory", "redis", "sql"] as const).filter((backend) =>
  faultsOf(backend).some((fault) => selected(backend, fault)),
);

describe.each(BACKENDS)("history check on the %s store", (backend) => {
  let under: BackendUnderTest | undefined;
  beforeAll(async () => {
    under = await BackendUnderTest.start(backend);
  });
  afterAll(async () => {
    await under?.stop();
  });

  for (const fault of faultsOf(backend).filter((candidate) => selected(backend, candidate))) {
    const bug = KNOWN_BUGS[`${backend}:${fault}`];
    const test = bug === undefined || process.env.BMN_HISTORY_KNOWN_BUGS === "run" ? it : it.skip;
    const name = `${fault}: nothing lost, nothing unexpected, stale acks refused`;
    test(bug === undefined ? name : `${name} (skipped, known bug: ${bug})`, async () => {
      if (under === undefined) throw new Error(`${backend} did not start`);
      const cell = await under.runCell(fault, settings);
      results.push(cell);
      const { counts } = cell.result;
      console.log(
        `${backend} × ${fault} (${cell.seconds.toFixed(1)} s): ${JSON.stringify(counts)}\n  ${cell.notes.join("\n  ")}`,
      );
      // The cell must have exercised the bus: messages went through both ways.
      expect(counts.sentOk).toBeGreaterThan(0);
      expect(counts.acked).toBeGreaterThan(0);
      expect(
        { lost: counts.lost, unexpected: counts.unexpected, fenced: counts.fencedViolations },
        cell.notes.join("\n"),
      ).toEqual({ lost: 0, unexpected: 0, fenced: 0 });
    });
  }
});
