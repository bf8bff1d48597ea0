import { performance } from "node:perf_hooks";
import { printClientCpu, runClientCpu } from "./client-cpu.js";
import { MEMORY_SETTINGS, MEMORY_TARGET, printRedisMemory, runRedisMemory } from "./redis-memory.js";
import {
  printThroughput,
  runStoreThroughput,
  THROUGHPUT_SETTINGS,
  THROUGHPUT_TARGET,
  throughputRatio,
  type ThroughputSettings,
} from "./throughput.js";
import { printTimeBreakdown } from "./time-breakdown.js";
import { withPrivateRedis } from "../shared/private-redis.js";
import { median } from "../shared/stats.js";
import { verdict, type SummaryRow } from "../shared/summary.js";
import { fixed, percent, ratio } from "../shared/table.js";

/** `quick` runs a tenth of the work: a check of the harness, not figures to quote. */
function settings(quick: boolean): { throughput: ThroughputSettings; memoryMessages: number } {
  const scale = (count: number): number => (quick ? Math.ceil(count / 10) : count);
  return {
    throughput: {
      rounds: quick ? 1 : THROUGHPUT_SETTINGS.rounds,
      levels: THROUGHPUT_SETTINGS.levels.map((level) => ({
        ...level,
        messages: scale(level.messages),
        warmup: scale(level.warmup),
      })),
    },
    memoryMessages: scale(MEMORY_SETTINGS.messages),
  };
}

/** RedisStore against a raw Redis Stream doing the same job: throughput, where the time goes, memory. */
export async function runStoreSuite(quick: boolean): Promise<SummaryRow[]> {
  const begin = performance.now();
  const chosen = settings(quick);
  console.log("\n[store 1/2] store throughput vs raw stream");
  // One server for the whole suite; every case starts from FLUSHALL SYNC on it.
  const throughput = await withPrivateRedis((url, admin) =>
    runStoreThroughput(url, admin, chosen.throughput),
  );
  console.log("\n[store 2/2] redis memory per queued message");
  const memory = await runRedisMemory({ ...MEMORY_SETTINGS, messages: chosen.memoryMessages });
  const clientCpu = runClientCpu();

  printThroughput(throughput);
  printTimeBreakdown(throughput);
  printClientCpu(clientCpu);
  printRedisMemory(memory);
  console.log(`\nstore suite ${fixed((performance.now() - begin) / 1000)} s`);

  const rows: SummaryRow[] = [];
  const raw = throughput.find((result) => result.side === "raw stream" && result.concurrency === 64);
  const store = throughput.find((result) => result.side === "store, traces off" && result.concurrency === 64);
  if (raw !== undefined && store !== undefined) {
    const share = throughputRatio(throughput, store);
    rows.push({
      measure: "store enqueue → lease → ack, 64 in flight",
      value: `${fixed(median(store.rounds))} msg/s; ${fixed(store.scriptCallsPerMsg, 1)} redis.call/msg (traces off)`,
      peer: `raw stream ${fixed(median(raw.rounds))} msg/s`,
      ratio: percent(share),
      target: `≥ ${percent(THROUGHPUT_TARGET)} of raw`,
      verdict: verdict(share >= THROUGHPUT_TARGET),
    });
  }
  const stream = memory.find((result) => result.label === "raw stream");
  const off = memory.find((result) => result.label === "store, traces off");
  if (stream !== undefined && off !== undefined) {
    const ofMessage = off.bytesPerMessage / off.serializedBytes;
    rows.push({
      measure: "Redis bytes per queued 1 KB message",
      value: `${fixed(off.bytesPerMessage)} B = ${ratio(ofMessage)} message (traces off)`,
      peer: `stream ${fixed(stream.bytesPerMessage)} B = ${ratio(stream.bytesPerMessage / stream.serializedBytes)}`,
      ratio: ratio(off.bytesPerMessage / stream.bytesPerMessage),
      target: `≤ ${fixed(MEMORY_TARGET, 1)}× the message`,
      verdict: verdict(ofMessage <= MEMORY_TARGET),
    });
  }
  return rows;
}
