import type { BenchQueue } from "../shared/bench-queue.js";
import { runClosedLoop, type ClosedLoopResult } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { median, summarize } from "../shared/stats.js";
import type { Level } from "../store/throughput.js";
import { fixed, percent, printTable } from "../shared/table.js";

/** BRIEF.md: the SQL store's throughput must reach this share of the Redis store's. */
export const SQL_THROUGHPUT_TARGET = 0.25;

export interface SqlSide {
  label: string;
  /** True for the peer every other side is compared with (the Redis store). */
  peer: boolean;
  /** Empties the backend or sets it up for this side (FLUSHALL, a server setting); runs before connect. */
  prepare(): Promise<void>;
  connect(): Promise<BenchQueue>;
}

export interface SqlThroughputResult {
  side: string;
  peer: boolean;
  concurrency: number;
  /** msgs/s of each round, indexed by round. */
  rounds: number[];
  /** Median over rounds of each round's p50 / p99 (enqueue start → ack done), ms. */
  p50: number;
  p99: number;
  emptyPolls: number;
}

/** Every side at every level, `rounds` interleaved rounds in rotated order, after one discarded warm-up pass. */
export async function runSqlThroughput(
  sides: SqlSide[],
  levels: Level[],
  rounds: number,
): Promise<SqlThroughputResult[]> {
  const makeMessage = messageFactory();
  const first = levels[0];
  if (first !== undefined) for (const side of sides) await runCase(side, first, makeMessage);
  const results: SqlThroughputResult[] = [];
  for (const level of levels) {
    const runs = new Map<string, ClosedLoopResult[]>(sides.map((side) => [side.label, []]));
    for (let round = 0; round < rounds; round++) {
      const order = sides.map((_, index) => sides[(index + round) % sides.length]);
      for (const side of order) {
        if (side === undefined) continue;
        const loop = await runCase(side, level, makeMessage);
        runs.get(side.label)?.push(loop);
        console.log(
          `  c=${level.concurrency} round ${round + 1} ${side.label}: ${fixed(rateOf(loop))} msgs/s`,
        );
      }
    }
    for (const side of sides) {
      const loops = runs.get(side.label) ?? [];
      const summaries = loops.map((loop) => summarize(loop.latencies));
      results.push({
        side: side.label,
        peer: side.peer,
        concurrency: level.concurrency,
        rounds: loops.map(rateOf),
        p50: median(summaries.map((summary) => summary.p50)),
        p99: median(summaries.map((summary) => summary.p99)),
        emptyPolls: loops.reduce((sum, loop) => sum + loop.emptyPolls, 0),
      });
    }
  }
  return results;
}

function rateOf(loop: ClosedLoopResult): number {
  return (loop.messages / loop.elapsedMs) * 1000;
}

async function runCase(
  side: SqlSide,
  level: Level,
  makeMessage: ReturnType<typeof messageFactory>,
): Promise<ClosedLoopResult> {
  await side.prepare();
  const queue = await side.connect();
  try {
    const options = { concurrency: level.concurrency, makeMessage };
    await runClosedLoop(queue, { ...options, messages: level.warmup });
    return await runClosedLoop(queue, { ...options, messages: level.messages });
  } finally {
    await queue.close();
  }
}

/** Side/peer msgs/s of the same round, then the median over rounds. */
export function sqlThroughputRatio(results: SqlThroughputResult[], result: SqlThroughputResult): number {
  const peer = results.find((other) => other.peer && other.concurrency === result.concurrency);
  if (peer === undefined) return Number.NaN;
  return median(result.rounds.map((rate, round) => rate / (peer.rounds[round] ?? Number.NaN)));
}

export function printSqlThroughput(results: SqlThroughputResult[]): void {
  const rows = results.map((result) => {
    const share = sqlThroughputRatio(results, result);
    return [
      String(result.concurrency),
      result.side,
      fixed(median(result.rounds)),
      result.peer ? "-" : percent(share),
      fixed(result.p50, 2),
      fixed(result.p99, 2),
      String(result.emptyPolls),
      result.peer
        ? ""
        : `≥ ${percent(SQL_THROUGHPUT_TARGET)}: ${share >= SQL_THROUGHPUT_TARGET ? "met" : "MISSED"}`,
    ];
  });
  printTable(
    "SQL store throughput vs Redis store (enqueue → lease → ack of ~1 KB messages, traces off; medians of rounds)",
    ["in flight", "case", "msgs/s", "of redis", "p50 ms", "p99 ms", "empty polls", "target"],
    rows,
  );
}
