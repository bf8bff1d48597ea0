import { execFileSync } from "node:child_process";
import { cpus } from "node:os";
import { performance } from "node:perf_hooks";
import { agentPayload, messageFactory, payloadBytes, serializedBytes } from "./shared/payload.js";
import { Summary } from "./shared/summary.js";
import { runStoreSuite } from "./store/suite.js";
import { runSidecarSuite, sidecarSettings } from "./sidecar/suite.js";
import { runSqlSuite, sqlSuiteSettings } from "./sql/suite.js";
import { crossDomainSettings, runCrossDomainSuite } from "./cross-domain/suite.js";

const USAGE = `usage: npm run bench -- [store] [sidecar] [sql] [cross-domain] [--quick] [--detail]
  no suite named: every suite, then one summary table of issue #12's rows
  --quick   a tenth of the work: checks the harness; do not quote its figures
  --detail  also the figures outside the summary (sidecar heap vs backlog, cross-domain latency and wire bytes)`;

const SUITES = ["store", "sidecar", "sql", "cross-domain"] as const;
type Suite = (typeof SUITES)[number];

function parseArgs(argv: readonly string[]): { suites: Set<Suite>; quick: boolean; detail: boolean } {
  const suites = new Set<Suite>();
  let quick = false;
  let detail = false;
  for (const arg of argv) {
    // `--sidecar` is the older spelling of `sidecar`.
    const name = arg.replace(/^--/, "");
    if (name === "quick") quick = true;
    else if (name === "detail") detail = true;
    else if ((SUITES as readonly string[]).includes(name)) suites.add(name as Suite);
    else {
      console.error(`unknown argument ${JSON.stringify(arg)}\n${USAGE}`);
      process.exit(2);
    }
  }
  return { suites: suites.size === 0 ? new Set(SUITES) : suites, quick, detail };
}

function version(command: string, args: readonly string[]): string {
  try {
    return execFileSync(command, args, { encoding: "utf8" }).trim();
  } catch {
    return "not found";
  }
}

function machine(quick: boolean): string {
  const sample = messageFactory()();
  return [
    `cpus: ${cpus().length} × ${cpus()[0]?.model ?? "unknown"}`,
    `node: ${process.version}`,
    `redis: ${version("redis-server", ["--version"])}`,
    `message: ${serializedBytes(sample)} B serialized, data ${payloadBytes(sample)} B` +
      ` (${Object.keys(agentPayload()).join(", ")})`,
    "Dapr: not installed here; its figures are the issue's documented ones, marked (documented)",
    quick ? "mode: --quick (a tenth of the work; do not quote these figures)" : "mode: full",
  ].join("\n");
}

async function main(): Promise<void> {
  const { suites, quick, detail } = parseArgs(process.argv.slice(2));
  const begin = performance.now();
  console.log(machine(quick));
  const summary = new Summary();
  if (suites.has("store")) {
    console.log("\n== store: RedisStore vs a raw Redis Stream");
    summary.add(...(await runStoreSuite(quick)));
  }
  if (suites.has("sql")) {
    console.log("\n== sql: SqlStore on MariaDB vs Redis store");
    summary.add(...(await runSqlSuite(sqlSuiteSettings(quick))));
  }
  if (suites.has("sidecar")) {
    console.log("\n== sidecar: end to end on Redis vs http-raw and raw ioredis");
    summary.add(...(await runSidecarSuite(sidecarSettings(quick), detail)));
  }
  if (suites.has("cross-domain")) {
    console.log("\n== cross-domain: two domains, two gateways, 10 ms RTT through Toxiproxy");
    summary.add(...(await runCrossDomainSuite(crossDomainSettings(quick), detail)));
  }
  summary.print();
  console.log(`\ntotal ${((performance.now() - begin) / 1000).toFixed(0)} s`);
}

await main();
