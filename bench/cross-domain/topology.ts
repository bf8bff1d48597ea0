import { join } from "node:path";
import { Domains, type GatewayOverrides } from "../../e2e/harness/domains.js";
import type { BmnProcess } from "../../test/harness/bmn-process.js";
import type { FaultyLink } from "../../test/harness/toxiproxy.js";

/** With BMN_BENCH_CPU_PROF=<dir>, every sidecar and gateway runs under --cpu-prof and writes its profile
 * to <dir>/<label>/ on exit. */
function nodeFlags(label: string): string[] {
  const dir = process.env.BMN_BENCH_CPU_PROF;
  if (dir === undefined || dir === "") return [];
  return ["--cpu-prof", `--cpu-prof-dir=${join(dir, label.replace(/\W+/g, "-"))}`];
}

export type CompressionChoice = "none" | "gzip" | "brotli";

/** A process whose CPU the suite reads: its label, its HTTP url, and its pid. */
export interface MeasuredProcess {
  readonly label: string;
  readonly url: string;
  readonly pid: number;
}

export interface TopologyOptions {
  /** Latency Toxiproxy adds in each direction of each gateway link (a round trip gets twice this). */
  latencyEachWayMs: number;
  /** `bmn.js` to run: cli/bin/bmn.js (tsx loader) by default, or a compiled one. */
  entry?: string | undefined;
}

/** Gateway settings of both domains (defaults of docs/gateways.md but the compression, which the suite varies). */
export const BENCH_BATCHING = { maxMessages: 256, maxBytes: 1_048_576, maxDelayMs: 10 } as const;

const INITIAL_COMPRESSION: CompressionChoice = "brotli";

function compression(algorithm: CompressionChoice): GatewayOverrides {
  return { compression: { algorithm, minBytes: 1024 } };
}

/**
 * Two MessageDomains `a` and `b` on one machine, built by the e2e multi-domain harness (e2e/harness/domains.ts):
 * each a private redis-server (no persistence, as in the other suites), a `bmn start` sidecar with cross-domain
 * routing, and a `bmn gateway`; a's gateway reaches b's through a Toxiproxy proxy with `latencyEachWayMs` added
 * each way (and b's reaches a's the same way, for route polls).
 *
 *   agents ─▶ sidecar a ─▶ redis a (bmn.out.b) ─▶ gateway a ─▶ toxiproxy (+5 ms each way) ─▶ gateway b ─▶ redis b ─▶ sidecar b ─▶ worker
 */
export class TwoDomains {
  private compressionNow = INITIAL_COMPRESSION;

  private constructor(private readonly domains: Domains) {}

  static async start(options: TopologyOptions): Promise<TwoDomains> {
    const domains = await Domains.start({
      domains: ["a", "b"],
      redis: {},
      gatewayDefaults: { batching: { ...BENCH_BATCHING }, ...compression(INITIAL_COMPRESSION) },
      ...(options.entry === undefined ? {} : { entry: options.entry }),
      nodeFlags,
    });
    try {
      for (const link of domains.links)
        await link.each((proxy) => proxy.latencyBothWays(options.latencyEachWayMs));
      return new TwoDomains(domains);
    } catch (error) {
      await domains.stop();
      throw error;
    }
  }

  get sidecarA(): MeasuredProcess {
    return measured("sidecar a", this.domains.domain("a").sidecar);
  }

  get sidecarB(): MeasuredProcess {
    return measured("sidecar b", this.domains.domain("b").sidecar);
  }

  get gatewayA(): MeasuredProcess {
    return measured("gateway a", this.domains.domain("a").gateway());
  }

  get gatewayB(): MeasuredProcess {
    return measured("gateway b", this.domains.domain("b").gateway());
  }

  /** The proxy a's gateway sends through. */
  get aToB(): FaultyLink {
    const proxy = this.domains.link("a", "b").proxies[0];
    if (proxy === undefined) throw new Error("no proxy from a to b");
    return proxy;
  }

  get compression(): CompressionChoice {
    return this.compressionNow;
  }

  /** Restarts a's gateway (SIGTERM: it drains) with another compression algorithm, on the same port. */
  async setCompression(algorithm: CompressionChoice): Promise<void> {
    if (algorithm === this.compressionNow) return;
    await this.domains.reconfigureGateway("a", 0, compression(algorithm));
    this.compressionNow = algorithm;
  }

  async stop(): Promise<void> {
    await this.domains.stop();
  }
}

function measured(label: string, child: BmnProcess): MeasuredProcess {
  const pid = child.pid;
  if (pid === undefined) throw new Error(`${label} is not running`);
  return { label, url: child.url, pid };
}
