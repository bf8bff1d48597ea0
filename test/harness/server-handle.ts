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
