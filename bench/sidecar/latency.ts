import { messageFactory } from "../shared/payload.js";
import type { ChildServer } from "./child.js";
import { LongPollConsumer, RawPeer, SidecarProducer, WsConsumer } from "./peers.js";
import { runPaced, type Consumer, type Producer } from "./pipeline.js";
import { procSample, RssSampler, vcpu, type ProcSample } from "./proc-stats.js";
import { summarize, type LatencySummary } from "../shared/stats.js";
import { fixed, printTable } from "../shared/table.js";

export interface LatencySettings {
  rate: number;
  /** Per run, warm-up included. */
  durationMs: number;
  warmupMs: number;
  rounds: number;
}

export const LATENCY_SETTINGS: LatencySettings = {
  rate: 1_000,
  durationMs: 5_000,
  warmupMs: 1_000,
  rounds: 2,
};

/** The footprint-only pass on a fresh sidecar: one longer run per receiver, with a longer warm-up. */
export const FRESH_FOOTPRINT_SETTINGS: LatencySettings = {
  rate: 1_000,
  durationMs: 6_000,
  warmupMs: 2_000,
  rounds: 1,
};

/** Issue #12: added latency at 1k msg/s over raw, and the sidecar's footprint. */
export const LATENCY_TARGET = { p50Ms: 0.5, p99Ms: 1.2 };
export const FOOTPRINT_TARGET = {
  vcpu: 0.15,
  rssBytes: 100 * 1024 * 1024,
  idleRssBytes: 70 * 1024 * 1024,
  peakRssBytes: 150 * 1024 * 1024,
};

export interface Footprint {
  vcpu: number;
  meanRssBytes: number;
  maxRssBytes: number;
}

export interface LatencyResult {
  label: string;
  raw: boolean;
  measured: number;
  /** Achieved send rate over the measured part, msgs/s. */
  rate: number;
  latency: LatencySummary;
  /** Of the sidecar process over the measured part (none for raw). */
  footprint: Footprint | undefined;
}

interface Case {
  label: string;
  raw: boolean;
  open(agent: string): Promise<{ producer: Producer; consumer: Consumer; close: () => Promise<void> }>;
}

let caseNumber = 0;

/**
 * Figures 3 and 4: an open loop of single-message sends at a fixed rate; latency is scheduled send time →
 * delivery in the receiving client. Raw: XADD, and a blocking XREADGROUP loop. Sidecar: one POST /v1/messages
 * per message, received by long-poll or over the WebSocket stream, while /proc samples the sidecar's CPU and RSS.
 * `withRaw: false` runs the sidecar cases only (the footprint pass on a fresh sidecar).
 */
export async function runLatency(
  sidecar: ChildServer,
  url: string,
  settings: LatencySettings,
  withRaw = true,
): Promise<LatencyResult[]> {
  const makeMessage = messageFactory();
  const cases: Case[] = [
    {
      label: "raw (XADD → XREADGROUP BLOCK)",
      raw: true,
      open: async (agent) => {
        const peer = await RawPeer.connect(url, `bench:raw:${agent}`, 64);
        return { producer: peer, consumer: peer, close: () => peer.close() };
      },
    },
    {
      label: "sidecar, long-poll (max=64, wait=1)",
      raw: false,
      open: (agent) => {
        const producer = new SidecarProducer(sidecar.url, agent, "single", 64);
        const consumer = new LongPollConsumer(sidecar.url, agent, 64, 1);
        return Promise.resolve({ producer, consumer, close: () => producer.close() });
      },
    },
    {
      label: "sidecar, WebSocket (credit 64)",
      raw: false,
      open: (agent) => {
        const producer = new SidecarProducer(sidecar.url, agent, "single", 64);
        const consumer = new WsConsumer(sidecar.url, agent, 64);
        return Promise.resolve({ producer, consumer, close: () => producer.close() });
      },
    },
  ];
  if (!withRaw) cases.splice(0, 1);
  const latencies = new Map<Case, number[]>(cases.map((item) => [item, []]));
  const measured = new Map<Case, { messages: number; ms: number; footprints: Footprint[] }>(
    cases.map((item) => [item, { messages: 0, ms: 0, footprints: [] }]),
  );
  for (let round = 0; round < settings.rounds; round++) {
    for (const item of round % 2 === 0 ? cases : [...cases].reverse()) {
      const { producer, consumer, close } = await item.open(`paced-${++caseNumber}`);
      // Filled in by the callbacks around the measured part (an object, so the reads below see the writes).
      const probe: { before?: ProcSample; after?: ProcSample; rss?: RssSampler | undefined } = {};
      try {
        const result = await runPaced(producer, consumer, {
          rate: settings.rate,
          durationMs: settings.durationMs,
          warmupMs: settings.warmupMs,
          makeMessage,
          onMeasureStart: () => {
            if (item.raw) return;
            probe.before = procSample(sidecar.pid);
            probe.rss = new RssSampler(sidecar.pid);
          },
          onMeasureEnd: () => {
            if (item.raw) return;
            probe.after = procSample(sidecar.pid);
          },
        });
        latencies.get(item)?.push(...result.latencies);
        const totals = measured.get(item);
        if (totals !== undefined) {
          totals.messages += result.measured;
          totals.ms += result.measuredMs;
          const memory = probe.rss?.stop();
          probe.rss = undefined;
          if (probe.before !== undefined && probe.after !== undefined && memory !== undefined)
            totals.footprints.push({
              vcpu: vcpu(probe.before, probe.after),
              meanRssBytes: memory.meanBytes,
              maxRssBytes: memory.maxBytes,
            });
        }
        const summary = summarize(result.latencies);
        console.log(
          `  ${settings.rate} msg/s round ${round + 1} ${item.label}: p50 ${fixed(summary.p50, 2)} ms, p99 ${fixed(summary.p99, 2)} ms`,
        );
      } finally {
        probe.rss?.stop();
        await close();
      }
    }
  }
  return cases.map((item) => {
    const totals = measured.get(item) ?? { messages: 0, ms: 0, footprints: [] };
    const footprints = totals.footprints;
    return {
      label: item.label,
      raw: item.raw,
      measured: totals.messages,
      rate: (totals.messages / totals.ms) * 1000,
      latency: summarize(latencies.get(item) ?? []),
      footprint:
        footprints.length === 0
          ? undefined
          : {
              vcpu: footprints.reduce((sum, footprint) => sum + footprint.vcpu, 0) / footprints.length,
              meanRssBytes:
                footprints.reduce((sum, footprint) => sum + footprint.meanRssBytes, 0) / footprints.length,
              maxRssBytes: Math.max(...footprints.map((footprint) => footprint.maxRssBytes)),
            },
    };
  });
}

const MB = 1024 * 1024;

export interface RssNotes {
  /** RSS of the main sidecar right after it became ready. */
  idleRss: number;
  /** Its RSS after figures 1 to 3. */
  loadedRss: number;
}

export function printLatency(
  results: LatencyResult[],
  fresh: LatencyResult[],
  rate: number,
  rss: RssNotes,
): void {
  const raw = results.find((result) => result.raw);
  printTable(
    `3. Added latency at ${rate} msg/s, open loop (scheduled send → delivered to the receiver; all rounds pooled)`,
    ["case", "messages", "msgs/s", "p50 ms", "p99 ms", "p50 − raw", "p99 − raw", "target"],
    results.map((result) => {
      const p50 = result.latency.p50 - (raw?.latency.p50 ?? Number.NaN);
      const p99 = result.latency.p99 - (raw?.latency.p99 ?? Number.NaN);
      const met = p50 <= LATENCY_TARGET.p50Ms && p99 <= LATENCY_TARGET.p99Ms;
      return [
        result.label,
        String(result.measured),
        fixed(result.rate),
        fixed(result.latency.p50, 2),
        fixed(result.latency.p99, 2),
        result.raw ? "-" : `${p50 >= 0 ? "+" : ""}${fixed(p50, 2)} ms`,
        result.raw ? "-" : `${p99 >= 0 ? "+" : ""}${fixed(p99, 2)} ms`,
        result.raw ? "" : `+${LATENCY_TARGET.p50Ms} / +${LATENCY_TARGET.p99Ms} ms: ${met ? "met" : "MISSED"}`,
      ];
    }),
  );
  const row = (history: string, result: LatencyResult): string[] => {
    const footprint = result.footprint ?? {
      vcpu: Number.NaN,
      meanRssBytes: Number.NaN,
      maxRssBytes: Number.NaN,
    };
    const met = footprint.vcpu <= FOOTPRINT_TARGET.vcpu && footprint.maxRssBytes <= FOOTPRINT_TARGET.rssBytes;
    return [
      history,
      result.label,
      fixed(footprint.vcpu, 3),
      fixed(footprint.meanRssBytes / MB, 1),
      fixed(footprint.maxRssBytes / MB, 1),
      `≤ ${FOOTPRINT_TARGET.vcpu} vCPU, ≤ ${FOOTPRINT_TARGET.rssBytes / MB} MB: ${met ? "met" : "MISSED"}`,
    ];
  };
  printTable(
    `4. Sidecar footprint at ${rate} msg/s (its own pid: /proc utime+stime over wall time, VmRSS every 250 ms)`,
    ["sidecar", "case", "vCPU", "RSS mean MB", "RSS max MB", "target"],
    [
      ...fresh.filter((result) => !result.raw).map((result) => row("fresh", result)),
      ...results.filter((result) => !result.raw).map((result) => row("after figures 1-2", result)),
    ],
  );
  console.log(
    `main sidecar RSS: ${fixed(rss.idleRss / MB, 1)} MB idle right after start, ${fixed(rss.loadedRss / MB, 1)} MB ` +
      "after figures 1-3; the fresh sidecar had seen nothing but this rate",
  );
}
