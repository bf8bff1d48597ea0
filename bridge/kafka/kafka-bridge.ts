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
import { BrokerBridge, type BrokerBridgeOptions, type RunningBrokerBridge } from "../common/broker-bridge.js";
import { pause, stopped, untilDone } from "../common/loops.js";
import type { ConsumeRoute } from "../common/routes.js";
import { bmnToKafka, kafkaToBmn } from "./kafka-mapping.js";

/** The Kafka topic a message came from: it is never produced back to that same topic. */
export const KAFKA_TOPIC_EXTENSION = "kafkatopic";

export interface KafkaBridgeOptions extends BrokerBridgeOptions {
  /** host:port list. */
  brokers: readonly string[];
  groupId: string;
  consume: readonly ConsumeRoute[];
  maxBytes: number;
  /** Offsets are committed after this many records, or when the stream goes idle. */
  commitEvery: number;
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

/** `kafka://a:9092,b:9092` or `a:9092,b:9092` → the broker list. */
export function brokersOf(url: string): string[] {
  const list = url.replace(/^kafka:\/\//, "").replace(/\/.*$/, "");
  return list.split(",").filter((broker) => broker !== "");
}

export async function startKafkaBridge(
  options: KafkaBridgeOptions,
  warn: (line: string) => void,
): Promise<RunningBrokerBridge> {
  const bridge = new BrokerBridge("kafka", options, warn);
  const { stop } = bridge;
  await bridge.register();

  const base = { bootstrapBrokers: [...options.brokers], clientId: `bmn-${options.agent}` };
  const producer = new Producer({ ...base, idempotent: true, acks: ProduceAcks.ALL, autocreateTopics: true });
  let connected = options.consume.length === 0;

  // ---- Kafka → BMN ----------------------------------------------------------------------------------------------
  const inbound = (record: KafkaMessage, route: ConsumeRoute): Promise<void> =>
    bridge.bringIn({
      target: route.target,
      map: (destination) => {
        const mapped = kafkaToBmn(record, destination, options.maxBytes);
        return mapped.ok
          ? { ok: true, value: { ...mapped.value, [KAFKA_TOPIC_EXTENSION]: record.topic } }
          : mapped;
      },
      deadLetter: () => ({
        reason: "rejected",
        detail: `from Kafka topic ${record.topic}, partition ${record.partition}, offset ${record.offset}`,
      }),
      raw: () => bytesOf(record.value).toString("utf8"),
      context: { topic: record.topic, partition: String(record.partition), offset: String(record.offset) },
    });

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
  const outboundLoop = bridge.runOutbound(
    async (route, message) => {
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
      return "ack";
    },
    // Never back into the topic it came from.
    (message, route) => (message as Record<string, unknown>)[KAFKA_TOPIC_EXTENSION] === route.destination,
  );
  return bridge.serve(
    () => connected,
    [consumeLoop, outboundLoop],
    () => producer.close().catch(() => undefined),
  );
}

function bufferHeaders(headers: Map<string, string>): Map<Buffer, Buffer> {
  return new Map([...headers].map(([key, value]) => [Buffer.from(key), Buffer.from(value)]));
}

/** A record's value; a tombstone (null value) reads as empty. */
function bytesOf(value: Buffer | undefined): Buffer {
  return value ?? Buffer.alloc(0);
}
