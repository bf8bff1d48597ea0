import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { onProcessExit } from "./exit-hooks.js";
import { freePort } from "./free-port.js";
import { GroupChild } from "./process-group.js";
import { ChildProcessServer, type ServerHandle } from "./server-handle.js";
import { spawnUntilReady } from "./spawn-ready.js";

/** The Debian package's server script, run directly (the /usr/sbin wrapper would switch to the rabbitmq user). */
const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const READY_LINE = "Server startup complete";
const READY_TIMEOUT_MS = 60_000;

const dataDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

export interface RabbitMqHandle extends ServerHandle {
  /** amqp://guest:guest@127.0.0.1:<port> */
  readonly url: string;
}

/**
 * A RabbitMQ node of its own (Debian `rabbitmq-server`): its own node name, AMQP and distribution ports, epmd
 * port and data dir under a temp dir, so it shares nothing with another test's node or a system one. Its epmd runs
 * as a child of the harness too, so nothing outlives the test. Restarts keep the node's data (durable queues and
 * persistent messages survive, as in production).
 */
export async function startRabbitMq(): Promise<RabbitMqHandle> {
  const dataDir = await mkdtemp(join(tmpdir(), "bmn-rabbitmq-"));
  dataDirs.add(dataDir);
  try {
    const [amqpPort, distPort, epmdPort] = [await freePort(), await freePort(), await freePort()];
    await writeFile(join(dataDir, "enabled_plugins"), "[].\n");
    await writeFile(
      join(dataDir, "rabbitmq.conf"),
      [`listeners.tcp.1 = 127.0.0.1:${amqpPort}`, "loopback_users = none", ""].join("\n"),
    );
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: dataDir, // the Erlang cookie is written here
      RABBITMQ_NODENAME: `bmn-test-${amqpPort}@localhost`,
      RABBITMQ_NODE_IP_ADDRESS: "127.0.0.1",
      RABBITMQ_NODE_PORT: String(amqpPort),
      RABBITMQ_DIST_PORT: String(distPort),
      ERL_EPMD_PORT: String(epmdPort),
      RABBITMQ_MNESIA_BASE: join(dataDir, "mnesia"),
      RABBITMQ_LOG_BASE: join(dataDir, "log"),
      RABBITMQ_CONFIG_FILE: join(dataDir, "rabbitmq"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(dataDir, "enabled_plugins"),
      RABBITMQ_PID_FILE: join(dataDir, "rabbitmq.pid"),
      RABBITMQ_LOGS: "-",
    };
    const epmd = GroupChild.spawn({ label: "epmd", command: "epmd", args: ["-port", String(epmdPort)], env });
    try {
      const child = await spawnRabbitMq(env);
      return new RabbitMqServer(amqpPort, dataDir, env, child, epmd);
    } catch (error) {
      await epmd.kill();
      throw error;
    }
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
    throw error;
  }
}

function spawnRabbitMq(env: NodeJS.ProcessEnv): Promise<GroupChild> {
  return spawnUntilReady(
    { label: "rabbitmq-server", command: RABBITMQ_SERVER, args: [], env, stopTimeoutMs: 30_000 },
    READY_LINE,
    READY_TIMEOUT_MS,
  );
}

class RabbitMqServer extends ChildProcessServer implements RabbitMqHandle {
  constructor(
    port: number,
    dataDir: string,
    private readonly env: NodeJS.ProcessEnv,
    child: GroupChild,
    private readonly epmd: GroupChild,
  ) {
    super(port, dataDir, `amqp://guest:guest@127.0.0.1:${port}`, child);
  }

  protected spawnAgain(): Promise<GroupChild> {
    return spawnRabbitMq(this.env);
  }

  protected async removeFiles(): Promise<void> {
    await this.epmd.stop();
    await rm(this.dataDir, { recursive: true, force: true });
    dataDirs.delete(this.dataDir);
  }
}
