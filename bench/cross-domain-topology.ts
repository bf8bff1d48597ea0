import { spawn, type ChildProcess } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { GatewayConfigInput, SidecarConfigInput } from "../core/config.js";
import { captureOutput } from "../test/harness/captured-output.js";
import { onProcessExit } from "../test/harness/exit-hooks.js";
import { freePort } from "../test/harness/free-port.js";
import { startRedis, type RedisServerHandle } from "../test/harness/redis-server.js";
import { ToxiproxyServer, type FaultyLink } from "../test/harness/toxiproxy.js";

const BMN = fileURLToPath(new URL("../cli/bin/bmn.js", import.meta.url));
const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const STOP_TIMEOUT_MS = 10_000;

/** Children still running; SIGKILLed if the benchmark dies, so no sidecar or gateway outlives it. */
const running = new Set<ChildProcess>();
const configDirs = new Set<string>();
onProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
  for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
});

/** With BMN_BENCH_CPU_PROF=<dir>, every sidecar and gateway runs under --cpu-prof and writes its profile
 * to <dir>/<label>/ on exit. */
function nodeFlags(label: string): string[] {
  const dir = process.env.BMN_BENCH_CPU_PROF;
  if (dir === undefined || dir === "") return [];
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, label.replace(/\W+/g, "-"))}`];
}

export type CompressionChoice = "none" | "gzip" | "brotli";

/** A `bmn start` or `bmn gateway` in a process of its own, ready when `readyPath` answers 200. */
export class BmnChild {
  private readonly output: () => string;
  private readonly exited: Promise<void>;

  private constructor(
    readonly label: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.output = captureOutput(child, 20_000);
    this.exited = new Promise((resolve) => {
      child.once("exit", () => {
        running.delete(child);
        resolve();
      });
    });
  }

  static async start(
    label: string,
    entry: string,
    args: readonly string[],
    configFile: string,
    port: number,
    readyPath: string,
  ): Promise<BmnChild> {
    const child = spawn(process.execPath, [...nodeFlags(label), entry, ...args], {
      env: { ...process.env, BMN_CONFIG: configFile, BMN_LOG_LEVEL: "warn" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    const started = new BmnChild(label, port, child);
    try {
      await started.untilReady(readyPath);
    } catch (error) {
      await started.stop();
      throw error;
    }
    return started;
  }

  get url(): string {
    return `http://${HOST}:${this.port}`;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.label} has no pid`);
    return pid;
  }

  private alive(): boolean {
    return running.has(this.child);
  }

  private async untilReady(path: string): Promise<void> {
    const deadline = Date.now() + READY_TIMEOUT_MS;
    while (Date.now() < deadline) {
      if (!this.alive()) throw new Error(`${this.label} exited before it was ready:\n${this.output()}`);
      try {
        const response = await fetch(`${this.url}${path}`, { signal: AbortSignal.timeout(2_000) });
        await response.text();
        if (response.status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.label} not ready within ${READY_TIMEOUT_MS} ms:\n${this.output()}`);
  }

  /** SIGTERM (drain), SIGKILL after 10 s; idempotent. */
  async stop(): Promise<void> {
    if (!this.alive()) return;
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), STOP_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}

export interface TopologyOptions {
  /** Latency Toxiproxy adds in each direction of each gateway link (a round trip gets twice this). */
  latencyEachWayMs: number;
  /** `bmn.js` to run: cli/bin/bmn.js (tsx loader) by default, or a compiled one. */
  entry?: string | undefined;
}

/** Gateway settings of both domains (defaults of docs/gateways.md but the compression, which the suite varies). */
export const BENCH_BATCHING = { maxMessages: 256, maxBytes: 1_048_576, maxDelayMs: 10 } as const;

const TOKEN = "bench-token-a-b-0123456789";

/**
 * Two MessageDomains `a` and `b` on one machine: each a private redis-server (no persistence, as in the other
 * suites), a `bmn start` sidecar with cross-domain routing, and a `bmn gateway`; a's gateway reaches b's through
 * a Toxiproxy proxy with `latencyEachWayMs` added each way (and b's reaches a's the same way, for route polls).
 *
 *   agents ─▶ sidecar a ─▶ redis a (bmn.out.b) ─▶ gateway a ─▶ toxiproxy (+5 ms each way) ─▶ gateway b ─▶ redis b ─▶ sidecar b ─▶ worker
 */
export class TwoDomains {
  private constructor(
    private readonly dir: string,
    private readonly entry: string,
    readonly redisA: RedisServerHandle,
    readonly redisB: RedisServerHandle,
    readonly toxiproxy: ToxiproxyServer,
    readonly aToB: FaultyLink,
    readonly bToA: FaultyLink,
    readonly sidecarA: BmnChild,
    readonly sidecarB: BmnChild,
    private gatewayAChild: BmnChild,
    readonly gatewayB: BmnChild,
    private compressionNow: CompressionChoice,
  ) {}

  get gatewayA(): BmnChild {
    return this.gatewayAChild;
  }

  get compression(): CompressionChoice {
    return this.compressionNow;
  }

  static async start(options: TopologyOptions): Promise<TwoDomains> {
    const entry = options.entry ?? BMN;
    const dir = await mkdtemp(join(tmpdir(), "bmn-bench-domains-"));
    configDirs.add(dir);
    const cleanups: (() => Promise<void>)[] = [];
    try {
      const redisA = await startRedis();
      cleanups.push(() => redisA.cleanup());
      const redisB = await startRedis();
      cleanups.push(() => redisB.cleanup());
      const toxiproxy = await ToxiproxyServer.start();
      cleanups.push(() => toxiproxy.stop());
      const [gatewayAPort, gatewayBPort] = [await freePort(), await freePort()];
      const aToB = await toxiproxy.createLink(`${HOST}:${gatewayBPort}`, "a-to-b");
      const bToA = await toxiproxy.createLink(`${HOST}:${gatewayAPort}`, "b-to-a");
      for (const link of [aToB, bToA]) await link.latencyBothWays(options.latencyEachWayMs);

      const sidecar = async (domain: string, redis: RedisServerHandle): Promise<BmnChild> => {
        const port = await freePort();
        const file = join(dir, `${domain}-sidecar.json`);
        const config: SidecarConfigInput = {
          domain,
          host: HOST,
          port,
          store: { type: "redis", redis: { url: redis.url } },
          routing: { crossDomain: true },
        };
        await writeFile(file, JSON.stringify(config));
        return BmnChild.start(
          `sidecar ${domain}`,
          entry,
          ["start", "--port", String(port)],
          file,
          port,
          "/readyz",
        );
      };
      const sidecarA = await sidecar("a", redisA);
      cleanups.push(() => sidecarA.stop());
      const sidecarB = await sidecar("b", redisB);
      cleanups.push(() => sidecarB.stop());
      const gatewayB = await startGateway(dir, entry, "b", redisB, gatewayBPort, "a", bToA, "brotli");
      cleanups.push(() => gatewayB.stop());
      const gatewayA = await startGateway(dir, entry, "a", redisA, gatewayAPort, "b", aToB, "brotli");
      return new TwoDomains(
        dir,
        entry,
        redisA,
        redisB,
        toxiproxy,
        aToB,
        bToA,
        sidecarA,
        sidecarB,
        gatewayA,
        gatewayB,
        "brotli",
      );
    } catch (error) {
      for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw error;
    }
  }

  /** Restarts a's gateway (SIGTERM: it drains) with another compression algorithm, on the same port. */
  async setCompression(algorithm: CompressionChoice): Promise<void> {
    if (algorithm === this.compressionNow) return;
    await this.gatewayAChild.stop();
    this.gatewayAChild = await startGateway(
      this.dir,
      this.entry,
      "a",
      this.redisA,
      this.gatewayAChild.port,
      "b",
      this.aToB,
      algorithm,
    );
    this.compressionNow = algorithm;
  }

  async stop(): Promise<void> {
    for (const child of [this.gatewayAChild, this.gatewayB, this.sidecarA, this.sidecarB])
      await child.stop().catch(() => undefined);
    await this.toxiproxy.stop().catch(() => undefined);
    await this.redisA.cleanup().catch(() => undefined);
    await this.redisB.cleanup().catch(() => undefined);
    await rm(this.dir, { recursive: true, force: true });
    configDirs.delete(this.dir);
  }
}

async function startGateway(
  dir: string,
  entry: string,
  domain: string,
  redis: RedisServerHandle,
  port: number,
  peer: string,
  link: FaultyLink,
  algorithm: CompressionChoice,
): Promise<BmnChild> {
  const file = join(dir, `${domain}-gateway.json`);
  const gateway: GatewayConfigInput = {
    host: HOST,
    port,
    id: `${domain}-gw0`,
    peers: [{ domain: peer, endpoints: [link.url], token: TOKEN }],
    batching: { ...BENCH_BATCHING },
    compression: { algorithm, minBytes: 1024 },
  };
  const config: SidecarConfigInput = {
    domain,
    store: { type: "redis", redis: { url: redis.url } },
    routing: { crossDomain: true },
    gateway,
  };
  await writeFile(file, JSON.stringify(config));
  return BmnChild.start(
    `gateway ${domain}`,
    entry,
    ["gateway", "--config", file, "--port", String(port)],
    file,
    port,
    "/healthz",
  );
}
