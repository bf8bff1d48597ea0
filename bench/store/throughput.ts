import type { Redis } from "ioredis";
import type { BenchQueue } from "../shared/bench-queue.js";
import { runClosedLoop, type ClosedLoopResult } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { RawStreamQueue } from "./raw-streams.js";
import { serverSample } from "../shared/redis-info.js";
import { median, summarize, type LatencySummary } from "../shared/stats.js";
import { StoreQueue } from "./store-queue.js";
import { fixed, percent, printTable, ratio } from "../shared/table.js";

export interface Level {
  /** Messages in flight: one per worker. */
  concurrency: number;
  messages: number;
  warmup: number;
}

export interface ThroughputSettings {
  levels: Level[];
  /** Each case runs once per round; rounds interleave the cases so drift on a noisy machine hits all alike. */
  rounds: number;
}

export const THROUGHPUT_SETTINGS: ThroughputSettings = {
  levels: [
    { concurrency: 1, messages: 3_000, warmup: 1_000 },
    { concurrency: 64, messages: 12_000, warmup: 2_000 },
  ],
  rounds: 3,
};

/** Store throughput at 64 in flight must reach this share of the raw stream's. */
export const THROUGHPUT_TARGET = 0.7;
const TARGET_CONCURRENCY = 64;

interface Side {
  label: string;
  connect(url: string): Promise<BenchQueue>;
}

const RAW = "raw stream";
const SIDES: Side[] = [
  { label: RAW, connect: (url) => RawStreamQueue.connect(url) },
  { label: "store, traces off", connect: (url) => StoreQueue.connect(url, false) },
  { label: "store, traces on", connect: (url) => StoreQueue.connect(url, true) },
];

export interface CaseResult {
  side: string;
  concurrency: number;
  /** msgs/s of each round, indexed by round so peers of one round can be compared. */
  rounds: number[];
  latency: LatencySummary;
  phases: { enqueue: LatencySummary; receive: LatencySummary; ack: LatencySummary };
  clientCpuPerMsg: number;
  serverCpuPerMsg: number;
  scriptPerMsg: number;
  callsPerMsg: number;
  scriptCallsPerMsg: number;
  emptyPolls: number;
}

interface Measured {
  loop: ClosedLoopResult;
  clientCpuMicros: number;
  serverCpuMicros: number;
  scriptMicros: number;
  calls: number;
  scriptCalls: number;
}

/** Runs every side at every level, `rounds` times, each case on a flushed server after its own warm-up. */
export async function runStoreThroughput(
  url: string,
  admin: Redis,
  settings: ThroughputSettings = THROUGHPUT_SETTINGS,
): Promise<CaseResult[]> {
  const makeMessage = messageFactory();
  const results: CaseResult[] = [];
  // A discarded pass first: the first side to run would otherwise also pay for JIT warm-up of shared code.
  const first = settings.levels[0];
  if (first !== undefined) for (const side of SIDES) await runCase(side, first, url, admin, makeMessage);
  for (const level of settings.levels) {
    const runs = new Map<string, Measured[]>(SIDES.map((side) => [side.label, []]));
    for (let round = 0; round < settings.rounds; round++) {
      // Rotate the order so no side always runs first (cold CPU caches) or last.
      const order = SIDES.map((_, index) => SIDES[(index + round) % SIDES.length]);
      for (const side of order) {
        if (side === undefined) continue;
        const measured = await runCase(side, level, url, admin, makeMessage);
        runs.get(side.label)?.push(measured);
        const rate = (measured.loop.messages / measured.loop.elapsedMs) * 1000;
        console.log(`  c=${level.concurrency} round ${round + 1} ${side.label}: ${fixed(rate)} msgs/s`);
      }
    }
    for (const side of SIDES)
      results.push(combine(side.label, level.concurrency, runs.get(side.label) ?? []));
  }
  return results;
}

async function runCase(
  side: Side,
  level: Level,
  url: string,
  admin: Redis,
  makeMessage: ReturnType<typeof messageFactory>,
): Promise<Measured> {
  await admin.flushall("SYNC");
  const queue = await side.connect(url);
  try {
    const options = { concurrency: level.concurrency, makeMessage };
    await runClosedLoop(queue, { ...options, messages: level.warmup });
    await admin.config("RESETSTAT");
    const before = await serverSample(admin);
    const cpu = process.cpuUsage();
    const loop = await runClosedLoop(queue, { ...options, messages: level.messages });
    const clientCpu = process.cpuUsage(cpu);
    const after = await serverSample(admin);
    return {
      loop,
      clientCpuMicros: clientCpu.user + clientCpu.system,
      serverCpuMicros: after.cpuMicros - before.cpuMicros,
      scriptMicros: after.scriptMicros,
      calls: after.clientCalls,
      scriptCalls: after.scriptCalls,
    };
  } finally {
    await queue.close();
  }
}

function combine(side: string, concurrency: number, runs: Measured[]): CaseResult {
  const messages = runs.reduce((sum, run) => sum + run.loop.messages, 0);
  const perMessage = (pick: (run: Measured) => number): number =>
    runs.reduce((sum, run) => sum + pick(run), 0) / messages;
  // Percentiles per round, then the median over rounds: one round a neighbour slowed down must not own the p99.
  const perRound = (pick: (loop: ClosedLoopResult) => number[]): LatencySummary => {
    const perRound = runs.map((run) => summarize(pick(run.loop)));
    return {
      count: perRound.reduce((sum, summary) => sum + summary.count, 0),
      p50: median(perRound.map((summary) => summary.p50)),
      p99: median(perRound.map((summary) => summary.p99)),
    };
  };
  return {
    side,
    concurrency,
    rounds: runs.map((run) => (run.loop.messages / run.loop.elapsedMs) * 1000),
    latency: perRound((loop) => loop.latencies),
    phases: {
      enqueue: perRound((loop) => loop.phases.enqueue),
      receive: perRound((loop) => loop.phases.receive),
      ack: perRound((loop) => loop.phases.ack),
    },
    clientCpuPerMsg: perMessage((run) => run.clientCpuMicros),
    serverCpuPerMsg: perMessage((run) => run.serverCpuMicros),
    scriptPerMsg: perMessage((run) => run.scriptMicros),
    callsPerMsg: perMessage((run) => run.calls),
    scriptCallsPerMsg: perMessage((run) => run.scriptCalls),
    emptyPolls: runs.reduce((sum, run) => sum + run.loop.emptyPolls, 0),
  };
}

/** Store/raw throughput per round (same round, so same machine conditions), then the median of those. */
export function throughputRatio(results: CaseResult[], result: CaseResult): number {
  const raw = peerOf(results, result);
  if (raw === undefined) return Number.NaN;
  return median(result.rounds.map((rate, round) => rate / (raw.rounds[round] ?? Number.NaN)));
}

function peerOf(results: CaseResult[], result: CaseResult): CaseResult | undefined {
  return results.find((other) => other.side === RAW && other.concurrency === result.concurrency);
}

export function isRaw(result: CaseResult): boolean {
  return result.side === RAW;
}

export function printThroughput(results: CaseResult[]): void {
  const rows = results.map((result) => {
    const raw = peerOf(results, result);
    const own = isRaw(result) || raw === undefined;
    const share = throughputRatio(results, result);
    const target =
      own || result.concurrency !== TARGET_CONCURRENCY
        ? ""
        : `≥ ${percent(THROUGHPUT_TARGET)}: ${share >= THROUGHPUT_TARGET ? "met" : "MISSED"}`;
    return [
      String(result.concurrency),
      result.side,
      fixed(median(result.rounds)),
      own ? "-" : percent(share),
      fixed(result.latency.p50, 2),
      fixed(result.latency.p99, 2),
      own ? "-" : ratio(result.latency.p50 / raw.latency.p50),
      own ? "-" : ratio(result.latency.p99 / raw.latency.p99),
      target,
    ];
  });
  printTable(
    "Store throughput vs raw stream (send → receive → ack of ~1 KB messages; every figure is the median of rounds)",
    ["in flight", "case", "msgs/s", "of raw", "p50 ms", "p99 ms", "p50/raw", "p99/raw", "target"],
    rows,
  );
}
