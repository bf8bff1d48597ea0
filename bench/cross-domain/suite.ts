import { performance } from "node:perf_hooks";
import type { Message } from "../../core/envelope.js";
import { corpusFactory, rawJsonBytes, type CorpusName } from "./corpus.js";
import { runDrain, type DrainResult } from "./drain.js";
import { countersDelta, readGatewayCounters, type GatewayCounters } from "./metrics.js";
import { BENCH_BATCHING, TwoDomains, type MeasuredProcess, type CompressionChoice } from "./topology.js";
import { messageFactory } from "../shared/payload.js";
import { BENCH_BMN, BENCH_BMN_LABEL } from "../shared/entry.js";
import { SidecarProducer, WsConsumer } from "../sidecar/peers.js";
import { runPaced } from "../sidecar/pipeline.js";
import { procSample } from "../sidecar/proc-stats.js";
import { median, summarize, type LatencySummary } from "../shared/stats.js";
import { fixed, percent, printTable } from "../shared/table.js";
import { verdict, type SummaryRow } from "../shared/summary.js";

export interface CrossDomainSettings {
  /** Latency Toxiproxy adds each way between the gateways; the round trip gets twice this. */
  latencyEachWayMs: number;
  throughput: {
    messages: number;
    warmup: number;
    /** Messages per `:batch` send, the same for the local and the cross-domain case. */
    batch: number;
    senders: number;
    credit: number;
    rounds: number;
  };
  wire: { messages: number; algorithms: readonly CompressionChoice[]; corpora: readonly CorpusName[] };
  latency: { rate: number; durationMs: number; warmupMs: number; rounds: number };
}

export const CROSS_DOMAIN_SETTINGS: CrossDomainSettings = {
  latencyEachWayMs: 5,
  throughput: { messages: 12_000, warmup: 2_000, batch: 64, senders: 4, credit: 256, rounds: 3 },
  wire: { messages: 5_000, algorithms: ["brotli", "gzip", "none"], corpora: ["varied", "payload.ts"] },
  latency: { rate: 200, durationMs: 6_000, warmupMs: 1_000, rounds: 2 },
};

export const CROSS_DOMAIN_TARGETS = {
  /** Cross-domain msgs/s over local batched msgs/s. */
  throughputShare: 0.7,
  /** Wire bytes over raw JSON bytes of the same messages. */
  wireShare: 0.3,
  /** Added p99 ≤ batch delay + one RTT + this. */
  latencySlackMs: 2,
};

/** The full suite, or a tenth of the work (`--quick`: checks the harness, figures not worth quoting). */
export function crossDomainSettings(quick: boolean): CrossDomainSettings {
  if (!quick) return CROSS_DOMAIN_SETTINGS;
  const { throughput, wire, latency } = CROSS_DOMAIN_SETTINGS;
  return {
    ...CROSS_DOMAIN_SETTINGS,
    throughput: {
      ...throughput,
      messages: throughput.messages / 10,
      warmup: throughput.warmup / 10,
      rounds: 1,
    },
    wire: { ...wire, messages: wire.messages / 10 },
    latency: { ...latency, durationMs: 1_500, warmupMs: 500, rounds: 1 },
  };
}

type PathCase = "local" | "cross-domain";

interface ThroughputRun {
  result: DrainResult;
  /** CPU µs per message of each process, by label. */
  cpu: Map<string, number>;
  gateway: GatewayCounters | undefined;
}

interface ThroughputSummary {
  label: PathCase;
  rates: number[];
  acceptedRates: number[];
  cpu: Map<string, number>;
  batches: number;
  batchedMessages: number;
  /** Wall time per batch over the link: drain time / batches, median of rounds. */
  cycleMs: number;
  /** Batch requests and route probes: time from request to answer read (includes b's store work). */
  rttSeconds: number;
  rttCount: number;
}

interface WireRow {
  corpus: CorpusName;
  algorithm: CompressionChoice;
  messages: number;
  rawBytes: number;
  counters: GatewayCounters;
}

interface LatencyRow {
  label: PathCase;
  latency: LatencySummary;
  counters: GatewayCounters | undefined;
}

let workerNumber = 0;

/** The labels of the processes whose CPU is reported (MeasuredProcess labels, in path order). */
const PROCESS_LABELS = ["sidecar a", "gateway a", "gateway b", "sidecar b"] as const;

/**
 * Cross-domain delivery through two `bmn gateway` processes and Toxiproxy (10 ms injected RTT), each figure
 * against its local peer measured in the same run: (1) drained msgs/s with batched sends, (2) bytes on the wire
 * vs raw JSON per compression algorithm, (3) added p50/p99 at a moderate open-loop rate. Real processes
 * throughout: two private Redis servers, two sidecars, two gateways, one toxiproxy-server; this process is the
 * load generator.
 */
export async function runCrossDomainSuite(
  settings: CrossDomainSettings,
  detail: boolean,
): Promise<SummaryRow[]> {
  const begin = performance.now();
  const rttMs = 2 * settings.latencyEachWayMs;
  console.log(
    `processes: ${BENCH_BMN_LABEL}; ` +
      `2 private redis-servers (no persistence); toxiproxy +${settings.latencyEachWayMs} ms each way (RTT +${rttMs} ms); ` +
      `gateway batching ${BENCH_BATCHING.maxMessages} msgs / ${BENCH_BATCHING.maxBytes} B / ${BENCH_BATCHING.maxDelayMs} ms`,
  );
  const domains = await TwoDomains.start({ latencyEachWayMs: settings.latencyEachWayMs, entry: BENCH_BMN });
  let throughput: ThroughputSummary[];
  try {
    console.log(
      `sidecar a ${domains.sidecarA.url}, gateway a ${domains.gatewayA.url} → toxiproxy ${domains.aToB.url} → ` +
        `gateway b ${domains.gatewayB.url}, sidecar b ${domains.sidecarB.url}`,
    );
    console.log("\n[cross-domain 1/3] throughput, batched sends, local vs through the gateways");
    throughput = await runThroughput(domains, settings);
    printThroughputTable(throughput, settings);
    if (detail) {
      console.log(
        `\n[cross-domain 2/3] latency at ${settings.latency.rate} msg/s, local vs through the gateways`,
      );
      const latency = await runLatencyCases(domains, settings);
      console.log("\n[cross-domain 3/3] bytes on the wire vs raw JSON, per compression algorithm");
      const wire = await runWire(domains, settings);
      printLatencyTable(latency, settings);
      printWireTable(wire);
    }
  } finally {
    await domains.stop();
  }
  console.log(`\ncross-domain suite ${fixed((performance.now() - begin) / 1000)} s`);
  const local = throughput.find((result) => result.label === "local");
  const cross = throughput.find((result) => result.label === "cross-domain");
  if (local === undefined || cross === undefined) return [];
  const share = throughputShare(cross, local);
  return [
    {
      measure: "cross-domain at 10 ms RTT",
      value: `${fixed(median(cross.rates))} msg/s`,
      peer: `local batched ${fixed(median(local.rates))} msg/s`,
      ratio: percent(share),
      target: `≥ ${percent(CROSS_DOMAIN_TARGETS.throughputShare)} of local`,
      verdict: verdict(share >= CROSS_DOMAIN_TARGETS.throughputShare),
    },
  ];
}

/** Cross-domain msgs/s over local msgs/s of the same round, median over rounds. */
function throughputShare(result: ThroughputSummary, local: ThroughputSummary): number {
  return median(result.rates.map((rate, round) => rate / (local.rates[round] ?? Number.NaN)));
}

function paths(domains: TwoDomains, worker: string): Record<PathCase, { to: string; receiveUrl: string }> {
  return {
    local: { to: worker, receiveUrl: domains.sidecarA.url },
    "cross-domain": { to: `${worker}@b`, receiveUrl: domains.sidecarB.url },
  };
}

function processes(domains: TwoDomains): MeasuredProcess[] {
  return [domains.sidecarA, domains.gatewayA, domains.gatewayB, domains.sidecarB];
}

/** Waits until a's gateway has counted `messages` more batched messages than `before` (its counters lag a little). */
async function untilForwarded(
  domains: TwoDomains,
  before: GatewayCounters,
  messages: number,
): Promise<GatewayCounters> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const now = await readGatewayCounters(domains.gatewayA.url, "b");
    const delta = countersDelta(before, now);
    if (delta.batchedMessages >= messages || Date.now() > deadline) return delta;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function drainOnce(
  domains: TwoDomains,
  label: PathCase,
  messages: number,
  settings: CrossDomainSettings,
  makeMessage: () => Message,
): Promise<ThroughputRun> {
  const worker = `drain-${++workerNumber}`;
  const path = paths(domains, worker)[label];
  const children = processes(domains);
  const counters = await readGatewayCounters(domains.gatewayA.url, "b");
  const before = children.map((child) => procSample(child.pid));
  const result = await runDrain({
    sendUrl: domains.sidecarA.url,
    receiveUrl: path.receiveUrl,
    worker,
    to: path.to,
    messages,
    batch: settings.throughput.batch,
    senders: settings.throughput.senders,
    credit: settings.throughput.credit,
    makeMessage,
  });
  const cpu = new Map<string, number>();
  children.forEach((child, index) => {
    const start = before[index];
    if (start !== undefined)
      cpu.set(child.label, ((procSample(child.pid).cpuSeconds - start.cpuSeconds) * 1e6) / messages);
  });
  const gateway = label === "cross-domain" ? await untilForwarded(domains, counters, messages) : undefined;
  return { result, cpu, gateway };
}

async function runThroughput(
  domains: TwoDomains,
  settings: CrossDomainSettings,
): Promise<ThroughputSummary[]> {
  const makeMessage = messageFactory();
  const labels: PathCase[] = ["local", "cross-domain"];
  // A discarded pass of each warms the JIT, the connections and the gateway link.
  for (const label of labels)
    await drainOnce(domains, label, settings.throughput.warmup, settings, makeMessage);
  const runs = new Map<PathCase, ThroughputRun[]>(labels.map((label) => [label, []]));
  for (let round = 0; round < settings.throughput.rounds; round++) {
    for (const label of round % 2 === 0 ? labels : [...labels].reverse()) {
      const run = await drainOnce(domains, label, settings.throughput.messages, settings, makeMessage);
      runs.get(label)?.push(run);
      const rate = (run.result.messages / run.result.elapsedMs) * 1000;
      const batches =
        run.gateway === undefined
          ? ""
          : `, ${fixed(run.gateway.batchedMessages / run.gateway.batches)} msgs/batch over the link`;
      console.log(
        `  round ${round + 1} ${label}: ${fixed(rate)} msgs/s drained, ` +
          `${fixed((run.result.messages / run.result.acceptedMs) * 1000)} msgs/s accepted by sidecar a${batches}`,
      );
    }
  }
  return labels.map((label) => {
    const list = runs.get(label) ?? [];
    const cpu = new Map<string, number>();
    for (const child of processes(domains))
      cpu.set(child.label, median(list.map((run) => run.cpu.get(child.label) ?? Number.NaN)));
    return {
      label,
      rates: list.map((run) => (run.result.messages / run.result.elapsedMs) * 1000),
      acceptedRates: list.map((run) => (run.result.messages / run.result.acceptedMs) * 1000),
      cpu,
      batches: list.reduce((sum, run) => sum + (run.gateway?.batches ?? 0), 0),
      batchedMessages: list.reduce((sum, run) => sum + (run.gateway?.batchedMessages ?? 0), 0),
      cycleMs: median(
        list.map((run) =>
          run.gateway === undefined ? Number.NaN : run.result.elapsedMs / run.gateway.batches,
        ),
      ),
      rttSeconds: list.reduce((sum, run) => sum + (run.gateway?.rttSeconds ?? 0), 0),
      rttCount: list.reduce((sum, run) => sum + (run.gateway?.rttCount ?? 0), 0),
    };
  });
}

async function runLatencyCases(domains: TwoDomains, settings: CrossDomainSettings): Promise<LatencyRow[]> {
  const makeMessage = messageFactory();
  const labels: PathCase[] = ["local", "cross-domain"];
  const samples = new Map<PathCase, number[]>(labels.map((label) => [label, []]));
  const counters = new Map<PathCase, GatewayCounters[]>(labels.map((label) => [label, []]));
  for (let round = 0; round < settings.latency.rounds; round++) {
    for (const label of round % 2 === 0 ? labels : [...labels].reverse()) {
      const worker = `paced-${++workerNumber}`;
      const path = paths(domains, worker)[label];
      const producer = new SidecarProducer(domains.sidecarA.url, path.to, "single", 16);
      const consumer = new WsConsumer(path.receiveUrl, worker, 64);
      const before = await readGatewayCounters(domains.gatewayA.url, "b");
      try {
        const result = await runPaced(producer, consumer, { ...settings.latency, makeMessage });
        samples.get(label)?.push(...result.latencies);
        if (label === "cross-domain")
          counters
            .get(label)
            ?.push(countersDelta(before, await readGatewayCounters(domains.gatewayA.url, "b")));
        const summary = summarize(result.latencies);
        console.log(
          `  ${settings.latency.rate} msg/s round ${round + 1} ${label}: p50 ${fixed(summary.p50, 2)} ms, p99 ${fixed(summary.p99, 2)} ms`,
        );
      } finally {
        await producer.close();
      }
    }
  }
  return labels.map((label) => {
    const list = counters.get(label) ?? [];
    return {
      label,
      latency: summarize(samples.get(label) ?? []),
      counters: list.length === 0 ? undefined : list.reduce((sum, delta) => addCounters(sum, delta)),
    };
  });
}

function addCounters(a: GatewayCounters, b: GatewayCounters): GatewayCounters {
  return {
    uncompressedBytes: a.uncompressedBytes + b.uncompressedBytes,
    wireBytes: a.wireBytes + b.wireBytes,
    batches: a.batches + b.batches,
    batchedMessages: a.batchedMessages + b.batchedMessages,
    rttSeconds: a.rttSeconds + b.rttSeconds,
    rttCount: a.rttCount + b.rttCount,
  };
}

async function runWire(domains: TwoDomains, settings: CrossDomainSettings): Promise<WireRow[]> {
  const rows: WireRow[] = [];
  for (const algorithm of settings.wire.algorithms) {
    await domains.setCompression(algorithm);
    for (const corpus of settings.wire.corpora) {
      // The same messages (same seed) for every algorithm; ids are fresh, so nothing is deduped away.
      const next = corpusFactory(corpus);
      let rawBytes = 0;
      const worker = `wire-${++workerNumber}`;
      const to = `${worker}@b`;
      const makeMessage = (): Message => {
        const message = next();
        rawBytes += rawJsonBytes(message, to);
        return message;
      };
      const before = await readGatewayCounters(domains.gatewayA.url, "b");
      await runDrain({
        sendUrl: domains.sidecarA.url,
        receiveUrl: domains.sidecarB.url,
        worker,
        to,
        messages: settings.wire.messages,
        batch: settings.throughput.batch,
        senders: settings.throughput.senders,
        credit: settings.throughput.credit,
        makeMessage,
      });
      const counters = await untilForwarded(domains, before, settings.wire.messages);
      const row = { corpus, algorithm, messages: settings.wire.messages, rawBytes, counters };
      rows.push(row);
      console.log(
        `  ${algorithm}, ${corpus}: wire ${percent(counters.wireBytes / rawBytes)} of raw JSON, ` +
          `${fixed(counters.batchedMessages / counters.batches)} msgs/batch`,
      );
    }
  }
  return rows;
}

function printThroughputTable(results: ThroughputSummary[], settings: CrossDomainSettings): void {
  const local = results.find((result) => result.label === "local");
  const labels = PROCESS_LABELS;
  printTable(
    `Cross-domain 1. Throughput, ${settings.throughput.senders} senders × :batch of ${settings.throughput.batch}, ` +
      `worker on WebSocket (credit ${settings.throughput.credit}); first send → last ack; medians of ` +
      `${settings.throughput.rounds} rounds`,
    [
      "case",
      "msgs/s",
      "of local",
      "accepted msgs/s",
      "msgs/batch (link)",
      "batch ms (cycle / round trip)",
      ...labels.map((label) => `${label} µs/msg`),
      "target",
    ],
    results.map((result) => {
      const share = result === local || local === undefined ? Number.NaN : throughputShare(result, local);
      return [
        result.label === "local" ? "local (agents → worker in a)" : "cross-domain (→ worker@b, RTT 10 ms)",
        fixed(median(result.rates)),
        result === local ? "-" : percent(share),
        fixed(median(result.acceptedRates)),
        result.batches === 0 ? "-" : fixed(result.batchedMessages / result.batches),
        result.batches === 0
          ? "-"
          : `${fixed(result.cycleMs, 1)} / ${fixed((result.rttSeconds / result.rttCount) * 1000, 1)}`,
        ...labels.map((label) => fixed(result.cpu.get(label) ?? Number.NaN)),
        result === local
          ? ""
          : `≥ ${percent(CROSS_DOMAIN_TARGETS.throughputShare)}: ${share >= CROSS_DOMAIN_TARGETS.throughputShare ? "met" : "MISSED"}`,
      ];
    }),
  );
}

function printLatencyTable(rows: LatencyRow[], settings: CrossDomainSettings): void {
  const local = rows.find((row) => row.label === "local");
  const budget =
    BENCH_BATCHING.maxDelayMs + 2 * settings.latencyEachWayMs + CROSS_DOMAIN_TARGETS.latencySlackMs;
  printTable(
    `Cross-domain 2. Latency at ${settings.latency.rate} msg/s, one POST /v1/messages per message, open loop ` +
      "(scheduled send → delivered to the worker over WebSocket; rounds pooled)",
    ["case", "messages", "p50 ms", "p99 ms", "p50 added", "p99 added", "msgs/batch (link)", "target"],
    rows.map((row) => {
      const p50 = row.latency.p50 - (local?.latency.p50 ?? Number.NaN);
      const p99 = row.latency.p99 - (local?.latency.p99 ?? Number.NaN);
      const isLocal = row === local;
      return [
        row.label === "local" ? "local (worker in a)" : "cross-domain (worker@b, RTT 10 ms)",
        String(row.latency.count),
        fixed(row.latency.p50, 2),
        fixed(row.latency.p99, 2),
        isLocal ? "-" : `${p50 >= 0 ? "+" : ""}${fixed(p50, 2)} ms`,
        isLocal ? "-" : `${p99 >= 0 ? "+" : ""}${fixed(p99, 2)} ms`,
        row.counters === undefined ? "-" : fixed(row.counters.batchedMessages / row.counters.batches, 1),
        isLocal
          ? ""
          : `p99 ≤ +${budget} ms (${BENCH_BATCHING.maxDelayMs} delay + ${2 * settings.latencyEachWayMs} RTT + ` +
            `${CROSS_DOMAIN_TARGETS.latencySlackMs}): ${p99 <= budget ? "met" : "MISSED"}`,
      ];
    }),
  );
}

function printWireTable(rows: WireRow[]): void {
  printTable(
    "Cross-domain 3. Bytes on the wire (a's gateway, batch bodies as sent) vs raw JSON of the same messages",
    [
      "corpus",
      "compression",
      "messages",
      "raw JSON B/msg",
      "batch JSON B/msg",
      "wire B/msg",
      "msgs/batch",
      "wire / raw",
      "target",
    ],
    rows.map((row) => {
      const share = row.counters.wireBytes / row.rawBytes;
      return [
        row.corpus,
        row.algorithm === "brotli" ? "brotli (default)" : row.algorithm,
        String(row.messages),
        fixed(row.rawBytes / row.messages),
        fixed(row.counters.uncompressedBytes / row.counters.batchedMessages),
        fixed(row.counters.wireBytes / row.counters.batchedMessages),
        fixed(row.counters.batchedMessages / row.counters.batches),
        percent(share),
        row.algorithm === "none"
          ? "(reference)"
          : `≤ ${percent(CROSS_DOMAIN_TARGETS.wireShare)}: ${share <= CROSS_DOMAIN_TARGETS.wireShare ? "met" : "MISSED"}`,
      ];
    }),
  );
}
