/**
 * `bmn bridge kafka`: Kafka ↔ BMN through the sidecar's HTTP API. Consumed records are committed (per partition,
 * after every batch) only once BMN stored them, so a crash re-reads what was not committed and BMN's dedupe takes
 * it once. BMN messages go out through the idempotent producer (acks=all) with the message id as the key, and are
 * acked to BMN only after Kafka acknowledged them. docs/bridges.md says which path guarantees what.
 */
import {
  Consumer,
  MessagesStreamModes,
  Producer,
  ProduceAcks,
  type Message as KafkaMessage,
} from "@platformatic/kafka";
import { BmnClient, type Delivery } from "../../client/index.js";
import { topicMatches } from "../../core/topic-match.js";
import { BridgeMetrics } from "../common/bridge-metrics.js";
import { startBridgeServer } from "../common/bridge-server.js";
import { BmnQueuePump, type DeliveryOutcome } from "../common/bmn-queues.js";
import { DeadLetters } from "../common/dead-letters.js";
import { forever, pause, stopped, untilDone } from "../common/loops.js";
import type { ConsumeRoute, PublishRoute } from "../common/routes.js";
import { storeOrReject } from "../common/store-or-reject.js";
import { bmnToKafka, kafkaToBmn } from "./kafka-mapping.js";

/** The Kafka topic a message came from: it is never produced back to that same topic. */
export const KAFKA_TOPIC_EXTENSION = "kafkatopic";

export interface KafkaBridgeOptions {
  bmnUrl: string;
  apiToken?: string | undefined;
  /** host:port list. */
  brokers: readonly string[];
  groupId: string;
  agent: string;
  consume: readonly ConsumeRoute[];
  publish: readonly PublishRoute[];
  host: string;
  port: number;
  maxBytes: number;
  /** Offsets are committed after this many records, or when the stream goes idle. */
  commitEvery: number;
  leaseMs: number;
  idleWaitMs: number;
}

export const KAFKA_BRIDGE_DEFAULTS = {
  agent: "kafka-bridge",
  groupId: "bmn-bridge",
  host: "127.0.0.1",
  port: 7421,
  maxBytes: 1024 * 1024,
  commitEvery: 100,
  leaseMs: 30_000,
  idleWaitMs: 500,
} as const;

export interface RunningKafkaBridge {
  readonly url: string;
  readonly metrics: BridgeMetrics;
  close(): Promise<void>;
}

/** `kafka://a:9092,b:9092` or `a:9092,b:9092` → the broker list. */
export function brokersOf(url: string): string[] {
  const list = url.replace(/^kafka:\/\//, "").replace(/\/.*$/, "");
  return list.split(",").filter((broker) => broker !== "");
}

export async function startKafkaBridge(
  options: KafkaBridgeOptions,
  warn: (line: string) => void,
): Promise<RunningKafkaBridge> {
  const metrics = new BridgeMetrics("kafka");
  const client = new BmnClient({ url: options.bmnUrl, agent: options.agent, apiToken: options.apiToken });
  const deadLetters = new DeadLetters(client, options.agent, metrics);
  const stop = new AbortController();
  await client.register({
    agent: options.agent,
    capabilities: ["bmn-bridge", "kafka"],
    metadata: { bridge: "kafka" },
    ttlSeconds: 86_400,
  });
  for (const route of options.publish)
    if ("pattern" in route.source) await client.subscribe(route.source.pattern, { agent: options.agent });

  const base = { bootstrapBrokers: [...options.brokers], clientId: `bmn-${options.agent}` };
  const producer = new Producer({ ...base, idempotent: true, acks: ProduceAcks.ALL, autocreateTopics: true });
  let connected = options.consume.length === 0;

  // ---- Kafka → BMN ----------------------------------------------------------------------------------------------
  const inbound = async (record: KafkaMessage, route: ConsumeRoute): Promise<void> => {
    const raw = (): string => bytesOf(record.value).toString("utf8");
    const where = { topic: record.topic, partition: String(record.partition), offset: String(record.offset) };
    if ("deadLetter" in route.target) {
      const detail = `from Kafka topic ${record.topic}, partition ${record.partition}, offset ${record.offset}`;
      await deadLetters.reject("kafka-in", { reason: "rejected", detail }, raw(), where);
      return;
    }
    const mapped = kafkaToBmn(record, route.target, options.maxBytes);
    if (!mapped.ok) {
      await deadLetters.reject("kafka-in", mapped.rejection, raw(), where);
      return;
    }
    const input = { ...mapped.value, [KAFKA_TOPIC_EXTENSION]: record.topic };
    const target = route.target;
    const result = await storeOrReject(
      () => ("topic" in target ? client.publish(target.topic, input) : client.send(input)),
      (rejection) => deadLetters.reject("kafka-in", rejection, raw(), where),
    );
    if (result !== undefined) metrics.count("kafka-in", result.duplicate ? "duplicate" : "bridged");
  };

  const consumeLoop = (async () => {
    if (options.consume.length === 0) return;
    const routes = new Map(options.consume.map((route) => [route.source, route]));
    for (let failures = 0; !stop.signal.aborted;) {
      const consumer = new Consumer({
        ...base,
        groupId: options.groupId,
        autocommit: false,
        sessionTimeout: 10_000,
        heartbeatInterval: 1_000,
        maxWaitTime: options.idleWaitMs,
        highWaterMark: 64,
      });
      try {
        const stream = await consumer.consume({
          topics: [...routes.keys()],
          mode: MessagesStreamModes.COMMITTED,
          fallbackMode: "earliest",
        });
        connected = true;
        failures = 0;
        stop.signal.addEventListener("abort", () => void stream.close().catch(() => undefined), {
          once: true,
        });
        // The newest stored record per partition, committed every `commitEvery` records and when idle.
        const uncommitted = new Map<string, KafkaMessage>();
        let sinceCommit = 0;
        const commit = async (): Promise<void> => {
          // Taken out first: records stored while these commits run wait for the next commit.
          const batch = [...uncommitted.values()];
          uncommitted.clear();
          sinceCommit = 0;
          for (const record of batch) await record.commit();
        };
        const idleCommit = setInterval(() => {
          if (sinceCommit > 0)
            void commit().catch((error: unknown) => {
              warn(`commit: ${error instanceof Error ? error.message : String(error)}`);
            });
        }, options.idleWaitMs);
        try {
          for await (const record of stream as AsyncIterable<KafkaMessage>) {
            const route = routes.get(record.topic);
            if (route === undefined) continue;
            await untilDone(`Kafka topic ${record.topic}`, () => inbound(record, route), stop.signal, warn);
            if (stopped(stop.signal)) break;
            uncommitted.set(`${record.topic}/${record.partition}`, record); // only now: BMN has stored it
            if (++sinceCommit >= options.commitEvery) await commit();
          }
          if (!stopped(stop.signal)) await commit();
        } finally {
          clearInterval(idleCommit);
        }
      } catch (error) {
        failures++;
        if (!stopped(stop.signal))
          warn(`Kafka consumer: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        connected = false;
        await consumer.close(true).catch(() => undefined);
      }
      await pause(Math.min(15_000, 250 * 2 ** Math.min(failures, 6)), stop.signal);
    }
  })();

  // ---- BMN → Kafka ----------------------------------------------------------------------------------------------
  const outbound = async (delivery: Delivery, queue: string): Promise<DeliveryOutcome> => {
    const message = delivery.message;
    const route =
      queue === options.agent
        ? options.publish.find(
            (r) =>
              "pattern" in r.source &&
              message.topic !== undefined &&
              topicMatches(r.source.pattern, message.topic),
          )
        : options.publish.find((r) => "agent" in r.source && r.source.agent === queue);
    if (route === undefined) {
      metrics.count("kafka-out", "dead-lettered");
      return {
        reason: "unroutable",
        detail: `no --publish route for ${message.topic ?? `a message to ${queue}`}`,
      };
    }
    if ((message as Record<string, unknown>)[KAFKA_TOPIC_EXTENSION] === route.destination) {
      metrics.count("kafka-out", "skipped-loop"); // it came from that very topic
      return "ack";
    }
    const record = bmnToKafka(message);
    await producer.send({
      messages: [
        {
          topic: route.destination,
          key: record.key,
          value: record.value,
          headers: bufferHeaders(record.headers),
        },
      ],
    });
    metrics.count("kafka-out", "bridged");
    return "ack";
  };
  const pump = new BmnQueuePump(client, deadLetters, options.agent, {
    batch: 50,
    leaseSeconds: options.leaseMs / 1000,
    idleWaitSeconds: options.idleWaitMs / 1000,
    warn,
  });
  const agentQueues = options.publish.flatMap((r) => ("agent" in r.source ? [r.source.agent] : []));
  const pumpLoop = forever(stop.signal, warn, "BMN queues", 0, () =>
    pump.round(agentQueues, outbound, stop.signal),
  );

  const server = await startBridgeServer(options.host, options.port, metrics, () => connected);
  return {
    url: server.url,
    metrics,
    close: async () => {
      stop.abort();
      await Promise.allSettled([consumeLoop, pumpLoop]);
      await producer.close().catch(() => undefined);
      await server.close();
    },
  };
}

function bufferHeaders(headers: Map<string, string>): Map<Buffer, Buffer> {
  return new Map([...headers].map(([key, value]) => [Buffer.from(key), Buffer.from(value)]));
}

/** A record's value; a tombstone (null value) reads as empty. */
function bytesOf(value: Buffer | undefined): Buffer {
  return value ?? Buffer.alloc(0);
}
