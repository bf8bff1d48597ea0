import type { CaseResult } from "./throughput.js";
import { fixed, printTable } from "../shared/table.js";

/**
 * Where a cycle's time goes, from the same runs as the throughput table: each call's own latency, how many
 * round trips a message costs, and CPU per message on each side of the socket (the machine has few cores, so
 * whichever process saturates first sets the ceiling).
 */
export function printTimeBreakdown(results: CaseResult[]): void {
  const rows = results.map((result) => [
    String(result.concurrency),
    result.side,
    fixed(result.phases.enqueue.p50, 3),
    fixed(result.phases.receive.p50, 3),
    fixed(result.phases.ack.p50, 3),
    fixed(result.callsPerMsg, 1),
    fixed(result.scriptCallsPerMsg, 1),
    fixed(result.clientCpuPerMsg),
    fixed(result.serverCpuPerMsg),
    fixed(result.scriptPerMsg),
    String(result.emptyPolls),
  ]);
  printTable(
    "Where the time goes (p50 of each call; CPU per message of this Node process and of redis-server, all rounds)",
    [
      "in flight",
      "case",
      "send ms",
      "receive ms",
      "ack ms",
      "calls/msg",
      "redis.call/msg",
      "node CPU µs/msg",
      "redis CPU µs/msg",
      "in Lua µs/msg",
      "empty polls",
    ],
    rows,
  );
}
