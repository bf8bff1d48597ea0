import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { Redis } from "ioredis";
import { freePort } from "./free-port.js";
import { startRedisWithArgs, type RedisServerHandle } from "./redis-server.js";

const execFileAsync = promisify(execFile);
const SLOT_COUNT = 16384;
const CREATE_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 100;

export interface RedisClusterHandle {
  readonly nodes: { host: string; port: number }[];
  stop(): Promise<void>;
  cleanup(): Promise<void>;
}

/** Starts a masters-only Redis Cluster on loopback and waits until every node serves all slots. */
export async function startRedisCluster(options: { masters?: number } = {}): Promise<RedisClusterHandle> {
  const masters = options.masters ?? 3;
  // redis-cli --cluster create refuses fewer than 3 masters.
  if (!Number.isInteger(masters) || masters < 3) {
    throw new Error(`a cluster needs an integer >= 3 masters, got ${masters}`);
  }

  const started = await Promise.allSettled(Array.from({ length: masters }, () => startClusterNode()));
  const servers = started.flatMap((result) => (result.status === "fulfilled" ? [result.value] : []));
  const cleanup = async (): Promise<void> => {
    await Promise.all(servers.map((server) => server.cleanup()));
  };

  try {
    const failed = started.find((result) => result.status === "rejected");
    if (failed) throw failed.reason;
    await createCluster(servers);
    await waitForClusterReady(servers);
  } catch (error) {
    await cleanup();
    throw error;
  }

  return {
    nodes: servers.map(({ host, port }) => ({ host, port })),
    async stop() {
      await Promise.all(servers.map((server) => server.stop()));
    },
    cleanup,
  };
}

function startClusterNode(): Promise<RedisServerHandle> {
  return startRedisWithArgs(async (dataDir) => [
    ...["--save", "", "--cluster-enabled", "yes"],
    ...["--cluster-config-file", join(dataDir, "nodes.conf"), "--cluster-node-timeout", "5000"],
    // The default bus port (port + 10000) overflows 65535 for most ephemeral ports, so pick one explicitly.
    ...["--cluster-port", String(await freePort())],
  ]);
}

async function createCluster(servers: readonly RedisServerHandle[]): Promise<void> {
  const addresses = servers.map(({ host, port }) => `${host}:${port}`);
  const args = ["--cluster", "create", ...addresses, "--cluster-replicas", "0", "--cluster-yes"];
  try {
    await execFileAsync("redis-cli", args, { timeout: CREATE_TIMEOUT_MS });
  } catch (error) {
    // redis-cli reports most problems on stdout, which the error message leaves out.
    const stdout = error instanceof Error && "stdout" in error ? String(error.stdout) : "";
    const details = error instanceof Error ? error.message : String(error);
    throw new Error(`redis-cli ${args.join(" ")} failed: ${details}\n${stdout}`);
  }
}

/** Polls CLUSTER INFO until every node agrees the cluster is up, bounded by a deadline. */
async function waitForClusterReady(servers: readonly RedisServerHandle[]): Promise<void> {
  const clients = servers.map(({ host, port }) => new Redis({ host, port, lazyConnect: true }));
  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      const lastInfo = await Promise.all(clients.map((client) => client.cluster("INFO")));
      if (lastInfo.every((info) => isClusterReady(info, servers.length))) return;
      if (Date.now() >= deadline) {
        throw new Error(`cluster not ready within ${READY_TIMEOUT_MS} ms:\n${lastInfo.join("\n---\n")}`);
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  } finally {
    for (const client of clients) client.disconnect();
  }
}

function isClusterReady(info: string, nodeCount: number): boolean {
  const fields = new Map(
    info.split(/\r?\n/).map((line): [string, string] => {
      const [key = "", value = ""] = line.split(":");
      return [key, value.trim()];
    }),
  );
  return (
    fields.get("cluster_state") === "ok" &&
    fields.get("cluster_slots_assigned") === String(SLOT_COUNT) &&
    fields.get("cluster_known_nodes") === String(nodeCount)
  );
}
