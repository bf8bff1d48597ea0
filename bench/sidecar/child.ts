import { fileURLToPath } from "node:url";
import { BmnProcess } from "../../test/harness/bmn-process.js";
import { BENCH_BMN } from "../shared/entry.js";
import { freePort } from "../../test/harness/free-port.js";

// The sibling http-raw-server: compiled (.js) when the benchmark runs from dist/, else the source through tsx.
const FROM_SOURCE = import.meta.url.endsWith(".ts");
const HTTP_RAW = fileURLToPath(new URL(`./http-raw-server.${FROM_SOURCE ? "ts" : "js"}`, import.meta.url));

/**
 * A server under test in a process of its own (test/harness/bmn-process.ts): its CPU and RSS can then be read on its
 * own pid, and the load generator does not share its event loop.
 */
export class ChildServer {
  private constructor(private readonly process: BmnProcess) {}

  /**
   * `bmn start` on Redis exactly as a user runs it (through the tsx loader, defaults for everything but the
   * store, logs at warn), or the compiled `bmn.js` at `entry`. `nodeFlags` go to node, e.g. `--cpu-prof`.
   */
  static async sidecar(
    redisUrl: string,
    nodeFlags: readonly string[] = [],
    entry = BENCH_BMN,
  ): Promise<ChildServer> {
    return ChildServer.start("sidecar", nodeFlags, entry, ["start"], {
      BMN_STORE: "redis",
      BMN_REDIS_URL: redisUrl,
    });
  }

  /** The http-raw peer (bench/http-raw-server.ts), loaded through tsx like the sidecar. */
  static async httpRaw(redisUrl: string, nodeFlags: readonly string[] = []): Promise<ChildServer> {
    return ChildServer.start(
      "http-raw",
      [...nodeFlags, ...(FROM_SOURCE ? ["--import", "tsx"] : [])],
      HTTP_RAW,
      [],
      {
        BMN_REDIS_URL: redisUrl,
      },
    );
  }

  private static async start(
    label: string,
    nodeFlags: readonly string[],
    entry: string,
    args: readonly string[],
    env: Record<string, string>,
  ): Promise<ChildServer> {
    const started = await BmnProcess.start({
      label,
      port: await freePort(),
      entry,
      nodeFlags,
      args: () => args,
      // BMN_CONFIG cleared so a config file in the caller's environment cannot change what is measured.
      // http-raw reads its port from BMN_PORT; the sidecar too (it has no --port here, as a user runs it).
      env: (port) => ({ BMN_CONFIG: "", BMN_PORT: String(port), ...env }),
      readyPath: "/readyz",
    });
    return new ChildServer(started);
  }

  get label(): string {
    return this.process.label;
  }

  get port(): number {
    return this.process.port;
  }

  get url(): string {
    return this.process.url;
  }

  get pid(): number {
    const pid = this.process.pid;
    if (pid === undefined) throw new Error(`${this.label} has no pid`);
    return pid;
  }

  /** SIGTERM (the sidecar drains and exits, writing a --cpu-prof profile), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    await this.process.stop();
  }
}
