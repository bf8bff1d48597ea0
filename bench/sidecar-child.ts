import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { captureOutput } from "../test/harness/captured-output.js";
import { onProcessExit } from "../test/harness/exit-hooks.js";
import { freePort } from "../test/harness/free-port.js";

const BMN = fileURLToPath(new URL("../cli/bin/bmn.js", import.meta.url));
const HTTP_RAW = fileURLToPath(new URL("./http-raw-server.ts", import.meta.url));

/** Children still running; SIGKILLed if the benchmark dies, so no server outlives it. */
const running = new Set<ChildProcess>();
onProcessExit(() => {
  for (const child of running) child.kill("SIGKILL");
});

/**
 * A server under test in a process of its own: its CPU and RSS can then be read on its own pid, and the load
 * generator does not share its event loop.
 */
export class ChildServer {
  private readonly output: () => string;

  private constructor(
    readonly label: string,
    readonly port: number,
    private readonly child: ChildProcess,
  ) {
    this.output = captureOutput(child, 20_000);
  }

  /**
   * `bmn start` on Redis exactly as a user runs it (through the tsx loader, defaults for everything but the
   * store, logs at warn), or the compiled `bmn.js` at `entry`. `nodeFlags` go to node, e.g. `--cpu-prof`.
   */
  static async sidecar(
    redisUrl: string,
    nodeFlags: readonly string[] = [],
    entry = BMN,
  ): Promise<ChildServer> {
    return ChildServer.start("sidecar", [...nodeFlags, entry, "start"], {
      BMN_STORE: "redis",
      BMN_REDIS_URL: redisUrl,
    });
  }

  /** The http-raw peer (bench/http-raw-server.ts), loaded through tsx like the sidecar. */
  static async httpRaw(redisUrl: string, nodeFlags: readonly string[] = []): Promise<ChildServer> {
    return ChildServer.start("http-raw", [...nodeFlags, "--import", "tsx", HTTP_RAW], {
      BMN_REDIS_URL: redisUrl,
    });
  }

  private static async start(
    label: string,
    args: string[],
    env: Record<string, string>,
  ): Promise<ChildServer> {
    const port = await freePort();
    const child = spawn(process.execPath, args, {
      // BMN_CONFIG cleared so a config file in the caller's environment cannot change what is measured.
      env: { ...process.env, BMN_CONFIG: "", BMN_LOG_LEVEL: "warn", BMN_PORT: String(port), ...env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    running.add(child);
    child.once("exit", () => running.delete(child));
    const server = new ChildServer(label, port, child);
    try {
      await server.untilReady();
    } catch (error) {
      await server.stop();
      throw error;
    }
    return server;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  get pid(): number {
    const pid = this.child.pid;
    if (pid === undefined) throw new Error(`${this.label} has no pid`);
    return pid;
  }

  private alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  private async untilReady(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.alive()) throw new Error(`${this.label} exited before it was ready:\n${this.output()}`);
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`${this.label} not ready within ${timeoutMs} ms:\n${this.output()}`);
  }

  /** SIGTERM (the sidecar drains and exits, writing a --cpu-prof profile), SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (!this.alive()) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    const timer = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}
