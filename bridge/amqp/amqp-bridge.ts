/**
 * `bmn bridge amqp`: RabbitMQ (AMQP 0-9-1) ↔ BMN through the sidecar's HTTP API. Consumed messages are acked to
 * RabbitMQ only after BMN stored them; BMN messages are acked to BMN only after RabbitMQ confirmed them
 * (publisher confirms, `mandatory`, persistent). The connection is re-made with backoff whenever it drops.
 * docs/bridges.md says which path guarantees what.
 */
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import { BmnClient, type Delivery } from "../../client/index.js";
import { topicMatches } from "../../core/topic-match.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { BridgeMetrics } from "../common/bridge-metrics.js";
import { startBridgeServer } from "../common/bridge-server.js";
import { BmnQueuePump, type DeliveryOutcome } from "../common/bmn-queues.js";
import { DeadLetters, type Rejection } from "../common/dead-letters.js";
import { forever, pause, untilDone } from "../common/loops.js";
import type { ConsumeRoute, PublishRoute } from "../common/routes.js";
import { storeOrReject } from "../common/store-or-reject.js";
import { amqpToBmn, bmnToAmqp, deathReason, latestDeath } from "./amqp-mapping.js";

/** Set on messages the bridge brought in, so it never publishes them back out. */
export const BRIDGED_FROM_EXTENSION = "bridgedfrom";

export interface AmqpBridgeOptions {
  bmnUrl: string;
  apiToken?: string | undefined;
  amqpUrl: string;
  agent: string;
  consume: readonly ConsumeRoute[];
  publish: readonly PublishRoute[];
  host: string;
  port: number;
  /** Bodies above this are dead-lettered as `too-large` (the sidecar's own limit is 1 MiB by default). */
  maxBytes: number;
  /** Unacked RabbitMQ deliveries per consumed queue. */
  prefetch: number;
  leaseMs: number;
  idleWaitMs: number;
}

export const AMQP_BRIDGE_DEFAULTS = {
  agent: "amqp-bridge",
  host: "127.0.0.1",
  port: 7421,
  maxBytes: 1024 * 1024,
  prefetch: 50,
  leaseMs: 30_000,
  idleWaitMs: 500,
} as const;

export interface RunningAmqpBridge {
  readonly url: string;
  readonly metrics: BridgeMetrics;
  close(): Promise<void>;
}

export async function startAmqpBridge(
  options: AmqpBridgeOptions,
  warn: (line: string) => void,
): Promise<RunningAmqpBridge> {
  const metrics = new BridgeMetrics("amqp");
  const client = new BmnClient({ url: options.bmnUrl, agent: options.agent, apiToken: options.apiToken });
  const deadLetters = new DeadLetters(client, options.agent, metrics);
  const stop = new AbortController();
  await client.register({
    agent: options.agent,
    capabilities: ["bmn-bridge", "amqp"],
    metadata: { bridge: "amqp" },
    ttlSeconds: 86_400,
  });
  for (const route of options.publish)
    if ("pattern" in route.source) await client.subscribe(route.source.pattern, { agent: options.agent });

  // ---- RabbitMQ → BMN -------------------------------------------------------------------------------------------
  const inbound = async (route: ConsumeRoute, message: ConsumeMessage): Promise<void> => {
    const body = (): string => message.content.toString("utf8");
    const headers = message.properties.headers as Record<string, unknown> | undefined;
    if ("deadLetter" in route.target) {
      const death = latestDeath(headers);
      const rejection: Rejection = {
        reason: death === undefined ? "rejected" : deathReason(death.reason),
        detail:
          death === undefined
            ? `from RabbitMQ queue ${route.source} (no x-death header)`
            : `RabbitMQ dead-lettered it: ${death.reason} in queue ${death.queue} (exchange ${JSON.stringify(death.exchange)}, ${death.count} time(s))`,
      };
      await deadLetters.reject("amqp-in", rejection, body(), { queue: route.source });
      return;
    }
    const mapped = amqpToBmn(message, route.source, route.target, options.maxBytes);
    if (!mapped.ok) {
      await deadLetters.reject("amqp-in", mapped.rejection, body(), { queue: route.source });
      return;
    }
    const input = { ...mapped.value, [BRIDGED_FROM_EXTENSION]: "amqp" };
    const result = await storeOrReject(
      () => ("topic" in route.target ? client.publish(route.target.topic, input) : client.send(input)),
      (rejection) => deadLetters.reject("amqp-in", rejection, body(), { queue: route.source }),
    );
    if (result !== undefined) metrics.count("amqp-in", result.duplicate ? "duplicate" : "bridged");
  };

  // ---- the connection, made again whenever it drops -------------------------------------------------------------
  let connection: ChannelModel | undefined;
  let publisher: ConfirmChannel | undefined;
  const returned = new Set<string>();
  let lastChannelError: (Error & { code?: number }) | undefined;

  const openConsumer = async (model: ChannelModel, route: ConsumeRoute): Promise<void> => {
    const channel = await model.createChannel();
    channel.on("error", (error: Error) => {
      warn(`consuming ${route.source}: ${error.message}`);
    });
    // A consumer channel closed by the server (queue deleted, ...) takes the connection down, which re-makes all.
    channel.on("close", () => {
      if (connection === model) void model.close().catch(() => undefined);
    });
    await channel.prefetch(options.prefetch);
    const backlog: ConsumeMessage[] = [];
    let draining = false;
    const drain = async (): Promise<void> => {
      if (draining) return;
      draining = true;
      for (let next = backlog.shift(); next !== undefined; next = backlog.shift()) {
        const message = next;
        await untilDone(`RabbitMQ queue ${route.source}`, () => inbound(route, message), stop.signal, warn);
        if (stop.signal.aborted) break;
        try {
          channel.ack(message); // only now: BMN has stored it (or its dead letter)
        } catch {
          // The channel is gone; RabbitMQ redelivers the message and BMN's dedupe takes it once.
        }
      }
      draining = false;
    };
    await channel.consume(route.source, (message) => {
      if (message === null) return; // cancelled by the server; the close handler reconnects
      backlog.push(message);
      void drain();
    });
  };

  const session = async (): Promise<number> => {
    const model = await connect(options.amqpUrl, { timeout: 10_000 });
    connection = model;
    const closed = new Promise<void>((resolve) => {
      model.on("close", () => {
        resolve();
      });
    });
    model.on("error", (error: Error) => {
      warn(`RabbitMQ connection: ${error.message}`);
    });
    try {
      const channel = await model.createConfirmChannel();
      channel.on("error", (error: Error & { code?: number }) => {
        lastChannelError = error;
        warn(`publishing: ${error.message}`);
      });
      channel.on("return", (message: ConsumeMessage) => {
        const id: unknown = message.properties.messageId;
        if (typeof id === "string") returned.add(id);
      });
      channel.on("close", () => {
        if (connection === model) void model.close().catch(() => undefined);
      });
      publisher = channel;
      for (const route of options.consume) await openConsumer(model, route);
      warn(`connected to RabbitMQ`);
      const stopped = new Promise<void>((resolve) => {
        stop.signal.addEventListener("abort", () => {
          resolve();
        });
      });
      await Promise.race([closed, stopped]);
    } finally {
      publisher = undefined;
      connection = undefined;
      await model.close().catch(() => undefined);
    }
    return 1;
  };

  const connectLoop = (async () => {
    let failures = 0;
    while (!stop.signal.aborted) {
      try {
        await session();
        failures = 0;
      } catch (error) {
        failures++;
        warn(`RabbitMQ: ${error instanceof Error ? error.message : String(error)}`);
      }
      // Always a pause (also after a clean session), so a flapping broker is not hammered; none once stopped.
      await pause(Math.max(100, fullJitterBackoffMs(failures + 1, 250, 15_000)), stop.signal);
    }
  })();

  // ---- BMN → RabbitMQ -------------------------------------------------------------------------------------------
  const publishOne = (exchange: string, routingKey: string, delivery: Delivery): Promise<DeliveryOutcome> => {
    const channel = publisher;
    if (channel === undefined) return Promise.reject(new Error("RabbitMQ is not connected"));
    const out = bmnToAmqp(delivery.message);
    lastChannelError = undefined;
    return new Promise<DeliveryOutcome>((resolve, reject) => {
      channel.publish(exchange, routingKey, out.content, out.options, (error: unknown) => {
        if (error === null || error === undefined) {
          resolve(
            returned.delete(out.options.messageId)
              ? {
                  reason: "unroutable",
                  detail: `RabbitMQ returned it: no queue bound to exchange ${JSON.stringify(exchange)} for routing key ${JSON.stringify(routingKey)}`,
                }
              : "ack",
          );
          return;
        }
        const channelError = lastChannelError;
        if (channelError?.code === 404) {
          resolve({ reason: "unroutable", detail: `RabbitMQ refused it: ${channelError.message}` });
        } else if (error instanceof Error && /nack/i.test(error.message)) {
          resolve({
            reason: "rejected",
            detail: `RabbitMQ nacked the publish to exchange ${JSON.stringify(exchange)} (a full queue with overflow reject-publish, or a broker error)`,
          });
        } else {
          reject(error instanceof Error ? error : new Error("RabbitMQ did not confirm the publish"));
        }
      });
    });
  };

  const outbound = async (delivery: Delivery, queue: string): Promise<DeliveryOutcome> => {
    const message = delivery.message;
    if ((message as Record<string, unknown>)[BRIDGED_FROM_EXTENSION] === "amqp") {
      metrics.count("amqp-out", "skipped-loop");
      return "ack";
    }
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
      metrics.count("amqp-out", "dead-lettered");
      return {
        reason: "unroutable",
        detail: `no --publish route for ${message.topic === undefined ? `a message to ${queue}` : `topic ${message.topic}`}`,
      };
    }
    const routingKey = route.routingKey ?? message.topic ?? message.to ?? "";
    const outcome = await publishOne(route.destination, routingKey, delivery);
    metrics.count("amqp-out", outcome === "ack" ? "bridged" : "dead-lettered");
    return outcome;
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

  const server = await startBridgeServer(options.host, options.port, metrics, () => publisher !== undefined);
  return {
    url: server.url,
    metrics,
    close: async () => {
      stop.abort();
      await Promise.allSettled([connectLoop, pumpLoop]);
      await server.close();
    },
  };
}
