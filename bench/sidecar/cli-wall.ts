import { execFile } from "node:child_process";
import { performance } from "node:perf_hooks";
import { promisify } from "node:util";
import { BENCH_BMN } from "../shared/entry.js";
import { median } from "../shared/stats.js";

const run = promisify(execFile);

export interface CliWall {
  /** Median wall time of `bmn send <agent> <text>` against a running sidecar, ms. */
  sendMs: number;
  /** Median wall time of `bmn --version`, ms. */
  versionMs: number;
  /** Median wall time of `node -e ""`: what any Node CLI pays before its first line of code, ms. */
  bareNodeMs: number;
}

export const CLI_TARGET = { sendMs: 300, versionMs: 150 };

async function wallMs(args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const begin = performance.now();
  await run(process.execPath, args, { env });
  return performance.now() - begin;
}

/**
 * Wall time of whole `bmn` processes as a shell runs them (spawn to exit), `runs` times each, interleaved with a
 * bare `node -e ""` so all three see the same machine load. kubectl and the nats CLI are not installed here.
 */
export async function runCliWall(sidecarUrl: string, runs: number): Promise<CliWall> {
  const env = { ...process.env, BMN_URL: sidecarUrl, BMN_CONFIG: "" };
  const send: number[] = [];
  const version: number[] = [];
  const bare: number[] = [];
  for (let index = 0; index < runs; index++) {
    send.push(await wallMs([BENCH_BMN, "send", "cli-wall", `hello ${index}`, "--quiet"], env));
    version.push(await wallMs([BENCH_BMN, "--version"], env));
    bare.push(await wallMs(["-e", ""], env));
  }
  return { sendMs: median(send), versionMs: median(version), bareNodeMs: median(bare) };
}
