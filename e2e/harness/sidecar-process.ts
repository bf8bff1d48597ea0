import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";
import { freePort } from "../../test/harness/free-port.js";

const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));

/** A `bmn start` in a process of its own, which a test can SIGKILL and start again on the same port. */
export class SidecarProcess {
  private child: ChildProcess | undefined;
  private output = "";

  private constructor(
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  static async start(env: Record<string, string>): Promise<SidecarProcess> {
    const sidecar = new SidecarProcess(await freePort(), env);
    await sidecar.start();
    return sidecar;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [BMN, "start"], {
      env: { ...process.env, BMN_PORT: String(this.port), BMN_LOG_LEVEL: "warn", ...this.env },
      stdio: ["ignore", "pipe", "pipe"],
    });
    this.child = child;
    const collect = (chunk: Buffer): void => {
      this.output = (this.output + chunk.toString("utf8")).slice(-20_000);
    };
    child.stdout.on("data", collect);
    child.stderr.on("data", collect);
    await this.untilReady(child);
  }

  /** Polls /readyz until the sidecar answers 200, the process dies, or the deadline passes. */
  private async untilReady(child: ChildProcess, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!isRunning(child)) {
        throw new Error(
          `sidecar exited (${child.exitCode ?? child.signalCode ?? "?"}) before it was ready:\n${this.output}`,
        );
      }
      try {
        if ((await fetch(`${this.url}/readyz`)).status === 200) return;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`sidecar not ready within ${timeoutMs} ms:\n${this.output}`);
  }

  /** SIGKILL: no drain, no cleanup, exactly like a crash. */
  async kill(): Promise<void> {
    const child = this.child;
    if (child === undefined || !isRunning(child)) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGKILL");
    await exited;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child === undefined || !isRunning(child)) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    await exited;
  }
}

function isRunning(child: ChildProcess | undefined): boolean {
  return child?.exitCode === null && child.signalCode === null;
}
