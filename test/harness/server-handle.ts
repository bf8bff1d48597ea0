import type { GroupChild } from "./process-group.js";

/** A real server process a test started on a free loopback port, which it can crash and start again. */
export interface ServerHandle {
  readonly host: string;
  readonly port: number;
  /** How a client connects, e.g. redis://127.0.0.1:port or mysql://root@127.0.0.1:port/bmn. */
  readonly url: string;
  readonly dataDir: string;
  /** Clean shutdown (SIGTERM), wait for exit; idempotent. */
  stop(): Promise<void>;
  /** SIGKILL, wait for exit (simulates a crash). */
  kill(): Promise<void>;
  /** Start again on the same port and data dir (after stop or kill); a no-op while running. */
  start(): Promise<void>;
  /** SIGSTOP: the server keeps its port and connections but answers nothing until resume(). */
  pause(): void;
  /** SIGCONT after pause(). */
  resume(): void;
  /** stop() then start(). */
  restart(): Promise<void>;
  /** Stop and remove the temp data dir; the handle cannot be started again afterwards. */
  cleanup(): Promise<void>;
}

/**
 * The ServerHandle lifecycle over a GroupChild (test/harness/process-group.ts): a server class gives how to start
 * its process again (same port and data dir) and how to remove its files.
 */
export abstract class ChildProcessServer implements ServerHandle {
  readonly host = "127.0.0.1";
  private removed = false;

  protected constructor(
    readonly port: number,
    readonly dataDir: string,
    readonly url: string,
    private current: GroupChild,
  ) {}

  /** Starts the process again on the same port and data dir, and resolves once it serves. */
  protected abstract spawnAgain(): Promise<GroupChild>;

  /** Removes the server's temp files (once stopped). */
  protected abstract removeFiles(): Promise<void>;

  async stop(): Promise<void> {
    await this.current.stop();
  }

  async kill(): Promise<void> {
    await this.current.kill();
  }

  pause(): void {
    this.current.pause();
  }

  resume(): void {
    this.current.resume();
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`${this.current.label} on port ${this.port} was cleaned up`);
    if (this.current.alive) return;
    this.current = await this.spawnAgain();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    this.removed = true;
    await this.stop();
    await this.removeFiles();
  }
}
