import { execFile } from "node:child_process";
import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onProcessExit } from "./exit-hooks.js";
import { freePort } from "./free-port.js";
import type { GroupChild } from "./process-group.js";
import { ChildProcessServer, type ServerHandle } from "./server-handle.js";
import { spawnUntilReady } from "./spawn-ready.js";

const FETCH = fileURLToPath(new URL("../tools/kafka/fetch.sh", import.meta.url));
const READY_LINE = "Kafka Server started";
const READY_TIMEOUT_MS = 90_000;
const CLUSTER_ID = "bmnTestCluster0000001A"; // 22 characters of base64url, as `kafka-storage random-uuid` makes

const dataDirs = new Set<string>();
onProcessExit(() => {
  for (const dir of dataDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

export interface KafkaHandle extends ServerHandle {
  /** host:port of the PLAINTEXT listener, for bootstrapBrokers. */
  readonly bootstrap: string;
}

/** The cached jar set (test/tools/kafka/fetch.sh fetches it on first use). */
async function kafkaLibs(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [FETCH], { timeout: 600_000 });
  const dir = /^dir (.+)$/m.exec(stdout)?.[1];
  if (dir === undefined) throw new Error(`test/tools/kafka/fetch.sh printed no "dir" line:\n${stdout}`);
  return join(dir, "libs");
}

/**
 * A single-node Apache Kafka 4 broker in KRaft mode (broker and controller in one JVM) on free loopback ports, with
 * its storage formatted in a temp dir, on the machine's Java 17. Restarts keep the log dirs.
 */
export async function startKafka(): Promise<KafkaHandle> {
  const libs = await kafkaLibs();
  const dataDir = await mkdtemp(join(tmpdir(), "bmn-kafka-"));
  dataDirs.add(dataDir);
  try {
    const [port, controllerPort] = [await freePort(), await freePort()];
    const config = join(dataDir, "server.properties");
    await writeFile(
      config,
      [
        "process.roles=broker,controller",
        "node.id=1",
        `controller.quorum.voters=1@127.0.0.1:${controllerPort}`,
        `listeners=PLAINTEXT://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controllerPort}`,
        `advertised.listeners=PLAINTEXT://127.0.0.1:${port}`,
        "controller.listener.names=CONTROLLER",
        "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
        `log.dirs=${join(dataDir, "data")}`,
        "num.partitions=1",
        "offsets.topic.replication.factor=1",
        "offsets.topic.num.partitions=1",
        "transaction.state.log.replication.factor=1",
        "transaction.state.log.min.isr=1",
        "share.coordinator.state.topic.replication.factor=1",
        "share.coordinator.state.topic.min.isr=1",
        "group.initial.rebalance.delay.ms=0",
        "",
      ].join("\n"),
    );
    const log4j = join(dataDir, "log4j2.properties");
    await writeFile(
      log4j,
      [
        "rootLogger.level = WARN",
        "rootLogger.appenderRef.stdout.ref = STDOUT",
        "appender.stdout.type = Console",
        "appender.stdout.name = STDOUT",
        "appender.stdout.layout.type = PatternLayout",
        "appender.stdout.layout.pattern = [%d] %p %m (%c)%n",
        "logger.server.name = kafka.server.KafkaRaftServer",
        "logger.server.level = INFO",
        "",
      ].join("\n"),
    );
    const java = ["-Xms128m", "-Xmx512m", `-Dlog4j2.configurationFile=${log4j}`, "-cp", `${libs}/*`];
    await promisify(execFile)(
      "java",
      [...java, "kafka.tools.StorageTool", "format", "-t", CLUSTER_ID, "-c", config],
      {
        timeout: 120_000,
      },
    );
    const args = [...java, "kafka.Kafka", config];
    const child = await spawnKafka(args);
    return new KafkaServer(port, dataDir, args, child);
  } catch (error) {
    await rm(dataDir, { recursive: true, force: true });
    dataDirs.delete(dataDir);
    throw error;
  }
}

function spawnKafka(args: readonly string[]): Promise<GroupChild> {
  return spawnUntilReady(
    { label: "kafka", command: "java", args, stopTimeoutMs: 30_000 },
    READY_LINE,
    READY_TIMEOUT_MS,
  );
}

class KafkaServer extends ChildProcessServer implements KafkaHandle {
  readonly bootstrap: string;

  constructor(
    port: number,
    dataDir: string,
    private readonly args: readonly string[],
    child: GroupChild,
  ) {
    super(port, dataDir, `kafka://127.0.0.1:${port}`, child);
    this.bootstrap = `127.0.0.1:${port}`;
  }

  protected spawnAgain(): Promise<GroupChild> {
    return spawnKafka(this.args);
  }

  protected async removeFiles(): Promise<void> {
    await rm(this.dataDir, { recursive: true, force: true });
    dataDirs.delete(this.dataDir);
  }
}
