import type { Redis } from "ioredis";
import { runClosedLoop } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { HttpApiQueue } from "./http-queue.js";
import { cpuPerMessage, measureCpu, type CpuSpent } from "./measure.js";
import type { ChildServer } from "./child.js";
import { median, summarize, type LatencySummary } from "../shared/stats.js";
import { fixed, percent, printTable } from "../shared/table.js";

export interface PerRequestSettings {
  levels: { concurrency: number; messages: number; warmup: number }[];
  rounds: number;
}

export const PER_REQUEST_SETTINGS: PerRequestSettings = {
  levels: [
    { concurrency: 1, messages: 1_000, warmup: 300 },
    { concurrency: 64, messages: 4_000, warmup: 1_000 },
  ],
  rounds: 3,
};

/** Sidecar msgs/s must reach this share of http-raw's. */
export const PER_REQUEST_TARGET = 0.6;

export interface PerRequestCase {
  peer: "sidecar" | "http-raw";
  concurrency: number;
  /** msgs/s per round, indexed by round. */
  rounds: number[];
  latency: LatencySummary;
  phases: { send: LatencySummary; receive: LatencySummary; ack: LatencySummary };
  cpu: CpuSpent;
}

let caseNumber = 0;

/**
 * Figure 1: the closed loop of the store suite (send → receive → ack, N workers on one queue) driven over HTTP,
 * one message per request, against the sidecar and against http-raw, interleaved by round.
 */
export async function runPerRequest(
  sidecar: ChildServer,
  httpRaw: ChildServer,
  admin: Redis,
  settings: PerRequestSettings,
): Promise<PerRequestCase[]> {
  const makeMessage = messageFactory();
  const peers = [sidecar, httpRaw];
  const results: PerRequestCase[] = [];
  for (const level of settings.levels) {
    const runs = new Map<
      ChildServer,
      { rate: number; loop: Awaited<ReturnType<typeof runClosedLoop>>; cpu: CpuSpent }[]
    >(peers.map((peer) => [peer, []]));
    for (let round = 0; round < settings.rounds; round++) {
      for (const peer of round % 2 === 0 ? peers : [...peers].reverse()) {
        const agent = `per-request-${++caseNumber}`;
        const queue = new HttpApiQueue(peer.label, peer.url, agent, level.concurrency);
        try {
          const options = { concurrency: level.concurrency, makeMessage };
          await runClosedLoop(queue, { ...options, messages: level.warmup });
          const { result: loop, cpu } = await measureCpu(admin, peer.pid, () =>
            runClosedLoop(queue, { ...options, messages: level.messages }),
          );
          const rate = (loop.messages / loop.elapsedMs) * 1000;
          runs.get(peer)?.push({ rate, loop, cpu });
          console.log(
            `  per request c=${level.concurrency} round ${round + 1} ${peer.label}: ${fixed(rate)} msgs/s`,
          );
        } finally {
          await queue.close();
          await admin.del(`bench:http-raw:${agent}`);
        }
      }
    }
    for (const peer of peers) {
      const peerRuns = runs.get(peer) ?? [];
      const perRound = (pick: (loop: (typeof peerRuns)[number]["loop"]) => number[]): LatencySummary => {
        const summaries = peerRuns.map((run) => summarize(pick(run.loop)));
        return {
          count: summaries.reduce((sum, summary) => sum + summary.count, 0),
          p50: median(summaries.map((summary) => summary.p50)),
          p99: median(summaries.map((summary) => summary.p99)),
        };
      };
      results.push({
        peer: peer.label === "sidecar" ? "sidecar" : "http-raw",
        concurrency: level.concurrency,
        rounds: peerRuns.map((run) => run.rate),
        latency: perRound((loop) => loop.latencies),
        phases: {
          send: perRound((loop) => loop.phases.enqueue),
          receive: perRound((loop) => loop.phases.receive),
          ack: perRound((loop) => loop.phases.ack),
        },
        cpu: cpuPerMessage(peerRuns.map((run) => ({ cpu: run.cpu, messages: run.loop.messages }))),
      });
    }
  }
  return results;
}

/** Sidecar/http-raw msgs/s of the same round, then the median over rounds. */
export function perRequestRatio(results: PerRequestCase[], result: PerRequestCase): number {
  const peer = results.find((other) => other.peer === "http-raw" && other.concurrency === result.concurrency);
  if (peer === undefined) return Number.NaN;
  return median(result.rounds.map((rate, round) => rate / (peer.rounds[round] ?? Number.NaN)));
}

export function printPerRequest(results: PerRequestCase[]): void {
  printTable(
    "1. One message per HTTP request, sidecar vs http-raw (send → receive max=1 → ack; medians of rounds)",
    ["in flight", "peer", "msgs/s", "of http-raw", "p50 ms", "p99 ms", "target"],
    results.map((result) => {
      const own = result.peer === "http-raw";
      const share = perRequestRatio(results, result);
      return [
        String(result.concurrency),
        result.peer,
        fixed(median(result.rounds)),
        own ? "-" : percent(share),
        fixed(result.latency.p50, 2),
        fixed(result.latency.p99, 2),
        own ? "" : `≥ ${percent(PER_REQUEST_TARGET)}: ${share >= PER_REQUEST_TARGET ? "met" : "MISSED"}`,
      ];
    }),
  );
  printTable(
    "1b. Where the time goes, one message per request (p50 of each call; CPU per message of each process)",
    [
      "in flight",
      "peer",
      "send ms",
      "receive ms",
      "ack ms",
      "server µs/msg",
      "redis µs/msg",
      "load-gen µs/msg",
      "server writes/msg",
      "server B written/msg",
    ],
    results.map((result) => [
      String(result.concurrency),
      result.peer,
      fixed(result.phases.send.p50, 3),
      fixed(result.phases.receive.p50, 3),
      fixed(result.phases.ack.p50, 3),
      fixed(result.cpu.server),
      fixed(result.cpu.redis),
      fixed(result.cpu.client),
      fixed(result.cpu.serverWrites, 1),
      fixed(result.cpu.serverBytesWritten),
    ]),
  );
}
