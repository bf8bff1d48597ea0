import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./exit-hooks.js";
import type { ServerHandle } from "./server-handle.js";
import { freePort } from "./free-port.js";
import { RedisStartError, spawnRedis, type RedisProcess } from "./redis-process.js";

const HOST = "127.0.0.1";
// freePort() is racy (another test worker may grab the port first), so a lost race gets a fresh port.
const MAX_PORT_ATTEMPTS = 5;

/** Data dirs not yet removed by cleanup(). */
const dataDirs = new Set<string>();

// Registered after redis-process.ts's hook (import order), so the servers are already SIGKILLed here.
onProcessExit(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

export interface RedisServerOptions {
  appendOnly?: boolean;
  appendFsyncAlways?: boolean;
}

export type RedisServerHandle = ServerHandle;

/** Extra redis-server arguments; called again with each attempt, so it may pick fresh ports. */
export type ExtraRedisArgs = (dataDir: string) => Promise<readonly string[]>;

/** Starts a standalone redis-server on a free loopback port with its own temp data dir. */
export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServerHandle> {
  return startRedisWithArgs(() => Promise.resolve(persistenceArgs(options)));
}

/** Like startRedis(), for other harness files that need extra flags (e.g. cluster mode). */
export async function startRedisWithArgs(extraArgs: ExtraRedisArgs): Promise<RedisServerHandle> {
  const dataDir = await mkdtemp(join(tmpdir(), "bmn-redis-"));
  dataDirs.add(dataDir);
  try {
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const args = [...baseArgs(port, dataDir), ...(await extraArgs(dataDir))];
      try {
        const child = await spawnRedis(args);
        return new RedisServer(port, dataDir, args, child);
      } catch (error) {
        const portTaken = error instanceof RedisStartError && error.output.includes("Address already in use");
        if (!portTaken || attempt >= MAX_PORT_ATTEMPTS) throw error;
      }
    }
  } catch (error) {
    await removeDataDir(dataDir);
    throw error;
  }
}

async function removeDataDir(dataDir: string): Promise<void> {
  await rm(dataDir, { recursive: true, force: true });
  dataDirs.delete(dataDir);
}

function baseArgs(port: number, dataDir: string): string[] {
  // logfile "" sends the log to stdout, where spawnRedis() watches for readiness.
  return [
    ...["--port", String(port), "--bind", HOST, "--protected-mode", "no"],
    ...["--daemonize", "no", "--logfile", "", "--dir", dataDir],
  ];
}

function persistenceArgs(options: RedisServerOptions): string[] {
  const args = options.appendOnly === true ? ["--appendonly", "yes"] : ["--save", ""];
  if (options.appendFsyncAlways === true) args.push("--appendfsync", "always");
  return args;
}

class RedisServer implements RedisServerHandle {
  readonly host = HOST;
  readonly url: string;
  private removed = false;

  constructor(
    readonly port: number,
    readonly dataDir: string,
    private readonly args: readonly string[],
    private current: RedisProcess,
  ) {
    this.url = `redis://${HOST}:${port}`;
  }

  async stop(): Promise<void> {
    await this.current.signal("SIGTERM");
  }

  async kill(): Promise<void> {
    await this.current.signal("SIGKILL");
  }

  pause(): void {
    this.current.pause();
  }

  resume(): void {
    this.current.resume();
  }

  async start(): Promise<void> {
    if (this.removed) throw new Error(`redis on port ${this.port} was cleaned up; it cannot be restarted`);
    if (this.current.alive) return;
    this.current = await spawnRedis(this.args);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async cleanup(): Promise<void> {
    this.removed = true;
    await this.stop();
    await removeDataDir(this.dataDir);
  }
}
