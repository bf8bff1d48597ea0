import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { agentPayload, messageFactory, payloadBytes, serializedBytes } from "./payload.js";
import { printClientCpu, runClientCpu } from "./client-cpu.js";
import { withPrivateRedis } from "./private-redis.js";
import { MEMORY_SETTINGS, printRedisMemory, runRedisMemory, type MemorySettings } from "./redis-memory.js";
import {
  printThroughput,
  runStoreThroughput,
  THROUGHPUT_SETTINGS,
  type ThroughputSettings,
} from "./store-throughput.js";
import { printTimeBreakdown } from "./time-breakdown.js";
import { runSidecarSuite, sidecarSettings } from "./sidecar-suite.js";
import { runSqlSuite, sqlSuiteSettings } from "./sql-suite.js";
import { crossDomainSettings, runCrossDomainSuite } from "./cross-domain-suite.js";

// `--quick` runs a tenth of the work: a smoke test of the harness, not figures to quote.
const quick = process.argv.includes("--quick");
// Suite flags select suites (several may be given); without any, every suite runs.
// `--store`: the store suite. `--sql`: the SQL store suite (bench/sql-suite.ts: SqlStore on MariaDB vs RedisStore).
// `--sidecar`: the sidecar suite (bench/sidecar-suite.ts). `--cross-domain`: gateways between two domains
// (bench/cross-domain-suite.ts).
const selected = {
  store: process.argv.includes("--store"),
  sql: process.argv.includes("--sql"),
  sidecar: process.argv.includes("--sidecar"),
  crossDomain: process.argv.includes("--cross-domain"),
};
const runAll = !Object.values(selected).some(Boolean);
const runs = (suite: keyof typeof selected): boolean => runAll || selected[suite];
const scale = (count: number): number => (quick ? Math.ceil(count / 10) : count);
const throughputSettings: ThroughputSettings = {
  ...THROUGHPUT_SETTINGS,
  levels: THROUGHPUT_SETTINGS.levels.map((level) => ({
    ...level,
    messages: scale(level.messages),
    warmup: scale(level.warmup),
  })),
};
const memorySettings: MemorySettings = { ...MEMORY_SETTINGS, messages: scale(MEMORY_SETTINGS.messages) };

function machine(): string {
  const redis = execFileSync("redis-server", ["--version"], { encoding: "utf8" }).trim();
  const sample = messageFactory()();
  return [
    `cpus: ${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
    `node: ${process.version}`,
    `redis: ${redis}`,
    `message: ${serializedBytes(sample)} B serialized, data ${payloadBytes(sample)} B` +
      ` (${Object.keys(agentPayload()).join(", ")})`,
    quick ? "mode: --quick (a tenth of the work; do not quote these figures)" : "mode: full",
  ].join("\n");
}

async function main(): Promise<void> {
  const begin = performance.now();
  console.log(machine());
  if (runs("store")) await storeSuite();
  if (runs("sql")) {
    console.log("\n== SQL store (SqlStore on MariaDB) vs Redis store");
    await runSqlSuite(sqlSuiteSettings(quick));
  }
  if (runs("sidecar")) {
    console.log("\n== sidecar end to end on Redis");
    await runSidecarSuite(sidecarSettings(quick));
  }
  if (runs("crossDomain")) {
    console.log("\n== cross-domain: two domains, two gateways, 10 ms RTT through Toxiproxy");
    await runCrossDomainSuite(crossDomainSettings(quick));
  }
  console.log(`\ntotal ${((performance.now() - begin) / 1000).toFixed(0)} s`);
}

async function storeSuite(): Promise<void> {
  console.log("\n[1/2] store throughput vs raw stream");
  // One server for the whole suite; every case starts from FLUSHALL SYNC on it.
  const throughput = await withPrivateRedis((url, admin) =>
    runStoreThroughput(url, admin, throughputSettings),
  );

  console.log("\n[2/2] redis memory per queued message");
  const memory = await runRedisMemory(memorySettings);

  const clientCpu = runClientCpu();

  printThroughput(throughput);
  printTimeBreakdown(throughput);
  printClientCpu(clientCpu);
  printRedisMemory(memory);
}

await main();
