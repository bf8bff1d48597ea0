import { performance } from "node:perf_hooks";
import { withPrivateRedis } from "../shared/private-redis.js";
import { freePort } from "../../test/harness/free-port.js";
import {
  BACKLOG_SETTINGS,
  printBacklog,
  runBacklog,
  type BacklogPoint,
  type BacklogSettings,
} from "./backlog.js";
import { ChildServer } from "./child.js";
import { BENCH_BMN_LABEL } from "../shared/entry.js";
import { InspectorSession } from "./inspector.js";
import {
  FRESH_FOOTPRINT_SETTINGS,
  LATENCY_SETTINGS,
  printLatency,
  runLatency,
  type LatencyResult,
  type LatencySettings,
} from "./latency.js";
import {
  PER_REQUEST_SETTINGS,
  printPerRequest,
  runPerRequest,
  type PerRequestSettings,
} from "./per-request.js";
import { PIPELINED_SETTINGS, printPipelined, runPipelined, type PipelinedSettings } from "./pipelined.js";
import { procSample, RssSampler } from "./proc-stats.js";
import { runCliWall } from "./cli-wall.js";
import { sidecarRows } from "./summary-rows.js";
import type { SummaryRow } from "../shared/summary.js";
import { fixed } from "../shared/table.js";
import { DEFAULT_SIDECAR_RESOURCES } from "../../core/crds/agent-endpoint.js";
import { oldSpaceMib } from "../../operator/builders/node-heap.js";

/** The old space (MiB) the operator gives a sidecar with the default memory limit (operator/builders/node-heap.ts). */
const POD_OLD_SPACE_MIB = ((): number => {
  const mib = oldSpaceMib(DEFAULT_SIDECAR_RESOURCES);
  if (mib === undefined) throw new Error("the default sidecar resources name no memory limit");
  return mib;
})();

function asPodHeap(result: LatencyResult): LatencyResult {
  return { ...result, label: `${result.label}, old space ${String(POD_OLD_SPACE_MIB)} MiB (pod)` };
}

export interface SidecarSuiteSettings {
  perRequest: PerRequestSettings;
  pipelined: PipelinedSettings;
  latency: LatencySettings;
  freshFootprint: LatencySettings;
  backlog: BacklogSettings;
  /** Runs of each `bmn` command timed for the CLI wall-time rows. */
  cliRuns: number;
}

/** The full suite, or a tenth of the work (`--quick`: checks the harness, figures not worth quoting). */
export function sidecarSettings(quick: boolean): SidecarSuiteSettings {
  const scale = (count: number): number => (quick ? Math.ceil(count / 10) : count);
  return {
    perRequest: {
      ...PER_REQUEST_SETTINGS,
      rounds: quick ? 1 : PER_REQUEST_SETTINGS.rounds,
      levels: PER_REQUEST_SETTINGS.levels.map((level) => ({
        ...level,
        messages: scale(level.messages),
        warmup: scale(level.warmup),
      })),
    },
    pipelined: {
      ...PIPELINED_SETTINGS,
      rounds: quick ? 1 : PIPELINED_SETTINGS.rounds,
      messages: scale(PIPELINED_SETTINGS.messages),
      warmup: scale(PIPELINED_SETTINGS.warmup),
    },
    latency: {
      ...LATENCY_SETTINGS,
      rounds: quick ? 1 : LATENCY_SETTINGS.rounds,
      durationMs: quick ? 1_500 : LATENCY_SETTINGS.durationMs,
      warmupMs: quick ? 500 : LATENCY_SETTINGS.warmupMs,
    },
    freshFootprint: {
      ...FRESH_FOOTPRINT_SETTINGS,
      durationMs: quick ? 1_500 : FRESH_FOOTPRINT_SETTINGS.durationMs,
      warmupMs: quick ? 500 : FRESH_FOOTPRINT_SETTINGS.warmupMs,
    },
    backlog: {
      ...BACKLOG_SETTINGS,
      steps: BACKLOG_SETTINGS.steps.map(scale),
      settleMs: quick ? 200 : BACKLOG_SETTINGS.settleMs,
    },
    cliRuns: quick ? 3 : 9,
  };
}

/**
 * The sidecar end to end on Redis, each figure beside its peer: http-raw (a bare node:http server, one Redis
 * command per request) for one message per request, raw ioredis for the rest. The sidecar (`bmn start`) and
 * http-raw each run in a process of their own; this process is only the load generator. With
 * BMN_BENCH_CPU_PROF=<dir> the sidecar runs under `--cpu-prof` and writes its profile there on exit. `detail` adds
 * figure 5 (heap as the backlog grows), which is not in the summary.
 */
export async function runSidecarSuite(
  settings: SidecarSuiteSettings,
  detail: boolean,
): Promise<SummaryRow[]> {
  const begin = performance.now();
  const profileDir = process.env.BMN_BENCH_CPU_PROF;
  const flags =
    profileDir === undefined || profileDir === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${profileDir}`];
  console.log(
    `sidecar: ${BENCH_BMN_LABEL}` +
      `${flags.length > 0 ? ", under --cpu-prof" : ""}; store redis, traces on (default policy), logs at warn`,
  );
  const rows = await withPrivateRedis(async (url, admin) => {
    const sidecar = await ChildServer.sidecar(url, flags);
    const httpRaw = await ChildServer.httpRaw(url);
    try {
      console.log(
        `sidecar pid ${sidecar.pid} at ${sidecar.url}, http-raw pid ${httpRaw.pid}${flags.length > 0 ? " (sidecar under --cpu-prof)" : ""}`,
      );
      const idle = { sidecar: procSample(sidecar.pid).rssBytes, httpRaw: procSample(httpRaw.pid).rssBytes };
      console.log("\n[sidecar 1/5] one message per HTTP request vs http-raw");
      const sidecarRss = new RssSampler(sidecar.pid);
      const httpRawRss = new RssSampler(httpRaw.pid);
      const perRequest = await runPerRequest(sidecar, httpRaw, admin, settings.perRequest);
      const httpRawPeak = httpRawRss.stop().maxBytes;
      console.log("\n[sidecar 2/5] batched / WebSocket at 64 in flight vs raw");
      const pipelined = await runPipelined(sidecar, url, admin, settings.pipelined);
      const peak = { sidecar: sidecarRss.stop().maxBytes, httpRaw: httpRawPeak };
      // Latency after the saturating figures: the sidecar is warm (JIT, pools), as a long-running one would be.
      console.log(`\n[sidecar 3/5] latency and footprint at ${settings.latency.rate} msg/s`);
      const latency = await runLatency(sidecar, url, settings.latency);
      const loadedRss = procSample(sidecar.pid).rssBytes;
      console.log("\n[sidecar 4/5] `bmn send` and `bmn --version` wall time");
      const cli = await runCliWall(sidecar.url, settings.cliRuns);
      await httpRaw.stop();
      await sidecar.stop();

      // A fresh sidecar for the rest: its footprint at 1k msg/s with no saturating run in its history, then the
      // backlog, with forced GCs over the inspector (--inspect only on this one).
      const inspectPort = await freePort();
      const fresh = await ChildServer.sidecar(url, detail ? [`--inspect=127.0.0.1:${inspectPort}`] : []);
      const inspector = detail ? await InspectorSession.connect(inspectPort) : undefined;
      let freshLatency: LatencyResult[];
      let backlog: BacklogPoint[] = [];
      try {
        console.log(`\n[sidecar 5/5] footprint at ${settings.latency.rate} msg/s on a fresh sidecar`);
        freshLatency = await runLatency(fresh, url, settings.freshFootprint, false);
        if (inspector !== undefined) {
          console.log("\n[sidecar detail] heap as the backlog grows");
          backlog = await runBacklog(fresh, inspector, settings.backlog);
        }
      } finally {
        await inspector?.close();
        await fresh.stop();
      }
      // The same load on a sidecar with the old space the operator gives one in a pod with the default memory
      // limit: V8 sizes its heap from the machine (24 GiB here), a pod's from its limit (docs/operator.md).
      const podHeap = await ChildServer.sidecar(url, [`--max-old-space-size=${String(POD_OLD_SPACE_MIB)}`]);
      let podLatency: LatencyResult[];
      try {
        console.log(
          `\n[sidecar 5/5] footprint at ${settings.latency.rate} msg/s, old space ${String(POD_OLD_SPACE_MIB)} MiB as in a pod`,
        );
        podLatency = await runLatency(podHeap, url, settings.freshFootprint, false);
      } finally {
        await podHeap.stop();
      }

      printPerRequest(perRequest);
      printPipelined(pipelined);
      printLatency(latency, [...freshLatency, ...podLatency.map(asPodHeap)], settings.latency.rate, {
        idleRss: idle.sidecar,
        loadedRss,
      });
      if (detail) printBacklog(backlog);
      return sidecarRows({ perRequest, pipelined, latency, freshLatency, podLatency, idle, peak, cli });
    } finally {
      await httpRaw.stop();
      await sidecar.stop();
    }
  });
  console.log(`\nsidecar suite ${fixed((performance.now() - begin) / 1000)} s`);
  return rows;
}
