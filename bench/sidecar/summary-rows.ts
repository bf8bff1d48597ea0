import type { CliWall } from "./cli-wall.js";
import { CLI_TARGET } from "./cli-wall.js";
import { FOOTPRINT_TARGET, LATENCY_TARGET, type LatencyResult } from "./latency.js";
import { PER_REQUEST_TARGET, perRequestRatio, type PerRequestCase } from "./per-request.js";
import { PIPELINED_TARGET, pipelinedRatio, type PipelinedResult } from "./pipelined.js";
import { median } from "../shared/stats.js";
import { verdict, type SummaryRow } from "../shared/summary.js";
import { fixed, percent } from "../shared/table.js";

/** Dapr's published figures (not run here: Dapr is not installed on this machine), quoted by issue #12. */
export const DAPR_REFERENCE = { addedP99Ms: 1.21, vcpu: 0.2, idleRssMb: 30 };

const MB = 1024 * 1024;

export interface SidecarFigures {
  perRequest: PerRequestCase[];
  pipelined: PipelinedResult[];
  latency: LatencyResult[];
  freshLatency: LatencyResult[];
  /** The same load on a sidecar whose old space is what the operator gives one in a pod (default limit). */
  podLatency: LatencyResult[];
  /** RSS right after start. */
  idle: { sidecar: number; httpRaw: number };
  /** Peak RSS over figures 1-2 (sidecar) and figure 1 (http-raw). */
  peak: { sidecar: number; httpRaw: number };
  cli: CliWall;
}

const mb = (bytes: number): string => `${fixed(bytes / MB)} MB`;
const signed = (ms: number): string => `${ms >= 0 ? "+" : ""}${fixed(ms, 2)}`;

/** The sidecar's rows of the summary table. */
export function sidecarRows(figures: SidecarFigures): SummaryRow[] {
  const rows: SummaryRow[] = [];
  const perRequest = (concurrency: number, peer: PerRequestCase["peer"]): PerRequestCase | undefined =>
    figures.perRequest.find((result) => result.concurrency === concurrency && result.peer === peer);
  const rate = (result: { rounds: number[] } | undefined): number =>
    result === undefined ? Number.NaN : median(result.rounds);
  for (const [concurrency, measure] of [
    [1, "one message per request, 1 sender"],
    [64, "one message per request, 64 senders"],
  ] as const) {
    const bmn = perRequest(concurrency, "sidecar");
    const peer = perRequest(concurrency, "http-raw");
    const ratio = bmn === undefined ? Number.NaN : perRequestRatio(figures.perRequest, bmn);
    rows.push({
      measure,
      value: `${fixed(rate(bmn))} msg/s`,
      peer: `http-raw ${fixed(rate(peer))} msg/s`,
      ratio: percent(ratio),
      target: `≥ ${percent(PER_REQUEST_TARGET)} of http-raw`,
      verdict: verdict(ratio >= PER_REQUEST_TARGET),
    });
  }
  const one = perRequest(1, "sidecar");
  const oneRaw = perRequest(1, "http-raw");
  rows.push({
    measure: "same, latency p50 / p99, 1 sender",
    value: `${fixed(one?.latency.p50 ?? Number.NaN, 2)} / ${fixed(one?.latency.p99 ?? Number.NaN, 2)} ms`,
    peer: `http-raw ${fixed(oneRaw?.latency.p50 ?? Number.NaN, 2)} / ${fixed(oneRaw?.latency.p99 ?? Number.NaN, 2)} ms`,
    ratio: `${signed((one?.latency.p50 ?? Number.NaN) - (oneRaw?.latency.p50 ?? Number.NaN))} / ${signed((one?.latency.p99 ?? Number.NaN) - (oneRaw?.latency.p99 ?? Number.NaN))} ms`,
    target: "none",
    verdict: "–",
  });
  const reference = figures.pipelined.find((result) => result.reference);
  for (const [match, measure] of [
    ["WebSocket", "batched + WebSocket, 64 in flight"],
    ["long-poll", "batched + long-poll, 64 in flight"],
  ] as const) {
    const result = figures.pipelined.find((item) => !item.raw && item.label.includes(match));
    const ratio = result === undefined ? Number.NaN : pipelinedRatio(figures.pipelined, result);
    rows.push({
      measure,
      value: `${fixed(rate(result))} msg/s`,
      peer: `raw ioredis ${fixed(rate(reference))} msg/s`,
      ratio: percent(ratio),
      target: `≥ ${percent(PIPELINED_TARGET)} of raw`,
      verdict: verdict(ratio >= PIPELINED_TARGET),
    });
  }
  const raw = figures.latency.find((result) => result.raw);
  for (const [match, measure] of [
    ["WebSocket", "added latency at 1k msg/s, WebSocket"],
    ["long-poll", "added latency at 1k msg/s, long-poll"],
  ] as const) {
    const result = figures.latency.find((item) => !item.raw && item.label.includes(match));
    const p50 = (result?.latency.p50 ?? Number.NaN) - (raw?.latency.p50 ?? Number.NaN);
    const p99 = (result?.latency.p99 ?? Number.NaN) - (raw?.latency.p99 ?? Number.NaN);
    rows.push({
      measure,
      value: `${fixed(result?.latency.p50 ?? Number.NaN, 2)} / ${fixed(result?.latency.p99 ?? Number.NaN, 2)} ms`,
      peer: `raw ${fixed(raw?.latency.p50 ?? Number.NaN, 2)} / ${fixed(raw?.latency.p99 ?? Number.NaN, 2)} ms; Dapr +${DAPR_REFERENCE.addedP99Ms} ms p99 (documented)`,
      ratio: `${signed(p50)} / ${signed(p99)} ms`,
      target: `≤ +${LATENCY_TARGET.p50Ms} / +${LATENCY_TARGET.p99Ms} ms`,
      verdict: verdict(p50 <= LATENCY_TARGET.p50Ms && p99 <= LATENCY_TARGET.p99Ms),
    });
  }
  const fresh = figures.freshLatency.filter((result) => !result.raw && result.footprint !== undefined);
  const worstVcpu = Math.max(...fresh.map((result) => result.footprint?.vcpu ?? Number.NaN));
  const worstRss = Math.max(...fresh.map((result) => result.footprint?.maxRssBytes ?? Number.NaN));
  const podRss = Math.max(
    ...figures.podLatency
      .filter((result) => !result.raw)
      .map((result) => result.footprint?.maxRssBytes ?? Number.NaN),
  );
  rows.push(
    {
      measure: "sidecar CPU at 1k msg/s",
      value: `${fixed(worstVcpu, 2)} vCPU`,
      peer: `Dapr about ${DAPR_REFERENCE.vcpu} vCPU (documented)`,
      ratio: `${fixed(worstVcpu / DAPR_REFERENCE.vcpu, 1)}×`,
      target: `≤ ${FOOTPRINT_TARGET.vcpu} vCPU`,
      verdict: verdict(worstVcpu <= FOOTPRINT_TARGET.vcpu),
    },
    {
      measure: "sidecar RSS, idle",
      value: mb(figures.idle.sidecar),
      peer: `http-raw ${mb(figures.idle.httpRaw)}; Dapr about ${DAPR_REFERENCE.idleRssMb} MB (documented)`,
      ratio: `${fixed(figures.idle.sidecar / figures.idle.httpRaw, 1)}×`,
      target: `≤ ${mb(FOOTPRINT_TARGET.idleRssBytes)}`,
      verdict: verdict(figures.idle.sidecar <= FOOTPRINT_TARGET.idleRssBytes),
    },
    {
      measure: "sidecar RSS at 1k msg/s",
      value: mb(worstRss),
      peer: "–",
      ratio: "–",
      target: `≤ ${mb(FOOTPRINT_TARGET.rssBytes)}`,
      verdict: verdict(worstRss <= FOOTPRINT_TARGET.rssBytes),
    },
    {
      measure: "sidecar RSS at 1k msg/s, pod heap",
      value: mb(podRss),
      peer: "old space as the operator sets it for the default 256Mi limit",
      ratio: "–",
      target: `≤ ${mb(FOOTPRINT_TARGET.rssBytes)}`,
      verdict: verdict(podRss <= FOOTPRINT_TARGET.rssBytes),
    },
    {
      measure: "sidecar RSS peak, 64 in flight",
      value: mb(figures.peak.sidecar),
      peer: `http-raw ${mb(figures.peak.httpRaw)}`,
      ratio: `${fixed(figures.peak.sidecar / figures.peak.httpRaw, 1)}×`,
      target: `≤ ${mb(FOOTPRINT_TARGET.peakRssBytes)}`,
      verdict: verdict(figures.peak.sidecar <= FOOTPRINT_TARGET.peakRssBytes),
    },
    {
      measure: "`bmn send` wall time",
      value: `${fixed(figures.cli.sendMs)} ms`,
      peer: `node -e "" ${fixed(figures.cli.bareNodeMs)} ms (kubectl, nats: not installed)`,
      ratio: `${fixed(figures.cli.sendMs / figures.cli.bareNodeMs, 1)}×`,
      target: `≤ ${CLI_TARGET.sendMs} ms`,
      verdict: verdict(figures.cli.sendMs <= CLI_TARGET.sendMs),
    },
    {
      measure: "`bmn --version` wall time",
      value: `${fixed(figures.cli.versionMs)} ms`,
      peer: `node -e "" ${fixed(figures.cli.bareNodeMs)} ms`,
      ratio: `${fixed(figures.cli.versionMs / figures.cli.bareNodeMs, 1)}×`,
      target: `≤ ${CLI_TARGET.versionMs} ms`,
      verdict: verdict(figures.cli.versionMs <= CLI_TARGET.versionMs),
    },
  );
  return rows;
}
