import type { Redis } from "ioredis";
import { runClosedLoop } from "../shared/closed-loop.js";
import { messageFactory } from "../shared/payload.js";
import { RawStreamQueue } from "../store/raw-streams.js";
import type { ChildServer } from "./child.js";
import { cpuPerMessage, measureCpu, type CpuSpent } from "./measure.js";
import { LongPollConsumer, RawPeer, SidecarProducer, WsConsumer } from "./peers.js";
import { runWindow } from "./pipeline.js";
import { median, summarize, type LatencySummary } from "../shared/stats.js";
import { fixed, percent, printTable } from "../shared/table.js";

export interface PipelinedSettings {
  window: number;
  /** Messages per measured run of a sidecar case (raw cases run `rawFactor` times as many: they are faster). */
  messages: number;
  warmup: number;
  rawFactor: number;
  rounds: number;
}

export const PIPELINED_SETTINGS: PipelinedSettings = {
  window: 64,
  messages: 6_000,
  warmup: 1_500,
  rawFactor: 3,
  rounds: 3,
};

/** Sidecar batched/WebSocket msgs/s at 64 in flight must reach this share of raw's. */
export const PIPELINED_TARGET = 0.5;

interface Measured {
  messages: number;
  elapsedMs: number;
  latencies: number[];
}

interface Case {
  label: string;
  raw: boolean;
  /** The peer the target is judged against. */
  reference?: boolean;
  server: ChildServer | undefined;
  run(agent: string, messages: number): Promise<Measured>;
}

export interface PipelinedResult {
  label: string;
  raw: boolean;
  reference: boolean;
  rounds: number[];
  latency: LatencySummary;
  cpu: CpuSpent;
}

let caseNumber = 0;

/**
 * Figure 2: 64 messages in flight end to end. Sidecar: sends batched (POST /v1/messages:batch), received over
 * the WebSocket stream (credit 64, acks over the socket) or by long-poll (max=64, one POST per ack). Raw: the
 * store suite's closed loop of 64 workers (the reference), and the same windowed driver as the sidecar cases
 * over XADD / XREADGROUP COUNT 64 BLOCK / XACK.
 */
export async function runPipelined(
  sidecar: ChildServer,
  url: string,
  admin: Redis,
  settings: PipelinedSettings,
): Promise<PipelinedResult[]> {
  const makeMessage = messageFactory();
  const window = { window: settings.window, makeMessage };
  const cases: Case[] = [
    {
      label: "raw, closed loop (64 workers)",
      raw: true,
      reference: true,
      server: undefined,
      run: async (_agent, messages) => {
        const queue = await RawStreamQueue.connect(url);
        try {
          return await runClosedLoop(queue, { concurrency: settings.window, messages, makeMessage });
        } finally {
          await queue.close();
          await admin.del(RawStreamQueue.STREAM);
        }
      },
    },
    {
      label: "raw, windowed (XREADGROUP COUNT 64 BLOCK)",
      raw: true,
      server: undefined,
      run: async (agent, messages) => {
        const peer = await RawPeer.connect(url, `bench:raw:${agent}`, settings.window);
        try {
          return await runWindow(peer, peer, { ...window, messages });
        } finally {
          await peer.close();
        }
      },
    },
    {
      label: "sidecar, batch send + WebSocket (credit 64)",
      raw: false,
      server: sidecar,
      run: async (agent, messages) => {
        const producer = new SidecarProducer(sidecar.url, agent, "batch", 2);
        try {
          return await runWindow(producer, new WsConsumer(sidecar.url, agent, settings.window), {
            ...window,
            messages,
          });
        } finally {
          await producer.close();
        }
      },
    },
    {
      label: "sidecar, batch send + long-poll max=64 + batch ack",
      raw: false,
      server: sidecar,
      run: async (agent, messages) => {
        const producer = new SidecarProducer(sidecar.url, agent, "batch", 2);
        try {
          return await runWindow(
            producer,
            new LongPollConsumer(sidecar.url, agent, settings.window, 1, true),
            {
              ...window,
              messages,
            },
          );
        } finally {
          await producer.close();
        }
      },
    },
  ];
  const runs = new Map<Case, { measured: Measured; cpu: CpuSpent }[]>(cases.map((item) => [item, []]));
  for (let round = 0; round < settings.rounds; round++) {
    const order = cases.map((_, index) => cases[(index + round) % cases.length]);
    for (const item of order) {
      if (item === undefined) continue;
      const factor = item.raw ? settings.rawFactor : 1;
      // Warm-up and measured run on one agent: the measured run finds its queue, groups and scripts ready.
      const agent = `pipelined-${++caseNumber}`;
      await item.run(agent, settings.warmup * factor);
      const { result: measured, cpu } = await measureCpu(admin, item.server?.pid, () =>
        item.run(agent, settings.messages * factor),
      );
      runs.get(item)?.push({ measured, cpu });
      const rate = (measured.messages / measured.elapsedMs) * 1000;
      console.log(`  pipelined round ${round + 1} ${item.label}: ${fixed(rate)} msgs/s`);
    }
  }
  return cases.map((item) => {
    const itemRuns = runs.get(item) ?? [];
    const summaries = itemRuns.map((run) => summarize(run.measured.latencies));
    return {
      label: item.label,
      raw: item.raw,
      reference: item.reference === true,
      rounds: itemRuns.map((run) => (run.measured.messages / run.measured.elapsedMs) * 1000),
      latency: {
        count: summaries.reduce((sum, summary) => sum + summary.count, 0),
        p50: median(summaries.map((summary) => summary.p50)),
        p99: median(summaries.map((summary) => summary.p99)),
      },
      cpu: cpuPerMessage(itemRuns.map((run) => ({ cpu: run.cpu, messages: run.measured.messages }))),
    };
  });
}

/** msgs/s over the reference raw peer's in the same round, median over rounds. */
export function pipelinedRatio(results: PipelinedResult[], result: PipelinedResult): number {
  const reference = results.find((other) => other.reference);
  if (reference === undefined) return Number.NaN;
  return median(result.rounds.map((rate, round) => rate / (reference.rounds[round] ?? Number.NaN)));
}

export function printPipelined(results: PipelinedResult[]): void {
  printTable(
    "2. Batched / WebSocket, 64 in flight, vs raw ioredis (latency: send start → ack confirmed; medians of rounds)",
    [
      "case",
      "msgs/s",
      "of raw",
      "p50 ms",
      "p99 ms",
      "server µs/msg",
      "redis µs/msg",
      "load-gen µs/msg",
      "server writes/msg",
      "server B written/msg",
      "target",
    ],
    results.map((result) => {
      const share = pipelinedRatio(results, result);
      return [
        result.label,
        fixed(median(result.rounds)),
        result.reference ? "-" : percent(share),
        fixed(result.latency.p50, 2),
        fixed(result.latency.p99, 2),
        result.raw ? "-" : fixed(result.cpu.server),
        fixed(result.cpu.redis),
        fixed(result.cpu.client),
        result.raw ? "-" : fixed(result.cpu.serverWrites, 2),
        result.raw ? "-" : fixed(result.cpu.serverBytesWritten),
        result.raw ? "" : `≥ ${percent(PIPELINED_TARGET)}: ${share >= PIPELINED_TARGET ? "met" : "MISSED"}`,
      ];
    }),
  );
}
