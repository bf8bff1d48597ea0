import { printTable } from "./table.js";

/** The rows of issue #12's table, in its order; each suite fills the rows it measures. */
export const MEASURES = [
  "one message per request, 1 sender",
  "one message per request, 64 senders",
  "same, latency p50 / p99, 1 sender",
  "batched + WebSocket, 64 in flight",
  "batched + long-poll, 64 in flight",
  "store enqueue → lease → ack, 64 in flight",
  "added latency at 1k msg/s, WebSocket",
  "added latency at 1k msg/s, long-poll",
  "sidecar CPU at 1k msg/s",
  "sidecar RSS, idle",
  "sidecar RSS at 1k msg/s",
  "sidecar RSS at 1k msg/s, pod heap",
  "sidecar RSS peak, 64 in flight",
  "Redis bytes per queued 1 KB message",
  "SQL store throughput, 16 in flight",
  "SQL wake-up across sidecars, p99",
  "cross-domain at 10 ms RTT",
  "`bmn send` wall time",
  "`bmn --version` wall time",
] as const;

export type Measure = (typeof MEASURES)[number];

/** "met"/"missed" against the target; "–" where the issue sets none. */
export type Verdict = "met" | "missed" | "–";

export interface SummaryRow {
  measure: Measure;
  value: string;
  /** The peer measured in the same run, or a documented reference figure (said so in the cell). */
  peer: string;
  ratio: string;
  target: string;
  verdict: Verdict;
}

export function verdict(met: boolean): Verdict {
  return met ? "met" : "missed";
}

/** Collects the rows of every suite that ran and prints them as one table, in the order. */
export class Summary {
  private readonly rows: SummaryRow[] = [];

  add(...rows: SummaryRow[]): void {
    this.rows.push(...rows);
  }

  print(): void {
    const ordered = [...this.rows].sort((a, b) => MEASURES.indexOf(a.measure) - MEASURES.indexOf(b.measure));
    printTable(
      "Summary: issue #12's table (each peer measured in the same run unless marked as documented)",
      ["measure", "BMN", "peer", "ratio / added", "target", "verdict"],
      ordered.map((row) => [row.measure, row.value, row.peer, row.ratio, row.target, row.verdict]),
    );
    const missed = ordered.filter((row) => row.verdict === "missed").length;
    const met = ordered.filter((row) => row.verdict === "met").length;
    console.log(`${met} met, ${missed} missed`);
  }
}
