import { rmSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./exit-hooks.js";
import type { GroupChild } from "./process-group.js";
import { ChildProcessServer, type ServerHandle } from "./server-handle.js";
import { freePort } from "./free-port.js";
import { RedisStartError, spawnRedis } from "./redis-process.js";

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

class RedisServer extends ChildProcessServer {
  constructor(
    port: number,
    dataDir: string,
    private readonly args: readonly string[],
    child: GroupChild,
  ) {
    super(port, dataDir, `redis://${HOST}:${port}`, child);
  }

  protected spawnAgain(): Promise<GroupChild> {
    return spawnRedis(this.args);
  }

  protected removeFiles(): Promise<void> {
    return removeDataDir(this.dataDir);
  }
}
