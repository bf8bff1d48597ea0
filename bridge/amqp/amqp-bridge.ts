/**
 * `bmn bridge amqp`: RabbitMQ (AMQP 0-9-1) ↔ BMN through the sidecar's HTTP API. Consumed messages are acked to
 * RabbitMQ only after BMN stored them; BMN messages are acked to BMN only after RabbitMQ confirmed them
 * (publisher confirms, `mandatory`, persistent). The connection is re-made with backoff whenever it drops.
 * docs/bridges.md says which path guarantees what.
 */
import { connect, type ChannelModel, type ConfirmChannel, type ConsumeMessage } from "amqplib";
import type { Message } from "../../client/index.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import type { DeliveryOutcome } from "../common/bmn-queues.js";
import { BrokerBridge, type BrokerBridgeOptions, type RunningBrokerBridge } from "../common/broker-bridge.js";
import type { Rejection } from "../common/dead-letters.js";
import { pause, untilDone } from "../common/loops.js";
import type { ConsumeRoute } from "../common/routes.js";
import { amqpToBmn, bmnToAmqp, deathReason, latestDeath } from "./amqp-mapping.js";

/** Set on messages the bridge brought in, so it never publishes them back out. */
export const BRIDGED_FROM_EXTENSION = "bridgedfrom";

export interface AmqpBridgeOptions extends BrokerBridgeOptions {
  amqpUrl: string;
  consume: readonly ConsumeRoute[];
  /** Bodies above this are dead-lettered as `too-large` (the sidecar's own limit is 1 MiB by default). */
  maxBytes: number;
  /** Unacked RabbitMQ deliveries per consumed queue. */
  prefetch: number;
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

export async function startAmqpBridge(
  options: AmqpBridgeOptions,
  warn: (line: string) => void,
): Promise<RunningBrokerBridge> {
  const bridge = new BrokerBridge("amqp", options, warn);
  const { stop } = bridge;
  await bridge.register();

  // ---- RabbitMQ → BMN -------------------------------------------------------------------------------------------
  const inbound = (route: ConsumeRoute, message: ConsumeMessage): Promise<void> =>
    bridge.bringIn({
      target: route.target,
      map: (destination) => {
        const mapped = amqpToBmn(message, route.source, destination, options.maxBytes);
        return mapped.ok
          ? { ok: true, value: { ...mapped.value, [BRIDGED_FROM_EXTENSION]: "amqp" } }
          : mapped;
      },
      deadLetter: () => deathRejection(route.source, latestDeath(message.properties.headers)),
      raw: () => message.content.toString("utf8"),
      context: { queue: route.source },
    });

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
  const publishOne = (exchange: string, routingKey: string, message: Message): Promise<DeliveryOutcome> => {
    const channel = publisher;
    if (channel === undefined) return Promise.reject(new Error("RabbitMQ is not connected"));
    const out = bmnToAmqp(message);
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

  const outboundLoop = bridge.runOutbound(
    (route, message) =>
      publishOne(route.destination, route.routingKey ?? message.topic ?? message.to ?? "", message),
    (message) => (message as Record<string, unknown>)[BRIDGED_FROM_EXTENSION] === "amqp",
  );
  return bridge.serve(
    () => publisher !== undefined,
    [connectLoop, outboundLoop],
    () => Promise.resolve(),
  );
}

/** Why a message read from a RabbitMQ dead-letter queue is dead: its newest `x-death`, as a BMN reason. */
function deathRejection(queue: string, death: ReturnType<typeof latestDeath>): Rejection {
  if (death === undefined)
    return { reason: "rejected", detail: `from RabbitMQ queue ${queue} (no x-death header)` };
  return {
    reason: deathReason(death.reason),
    detail: `RabbitMQ dead-lettered it: ${death.reason} in queue ${death.queue} (exchange ${JSON.stringify(death.exchange)}, ${death.count} time(s))`,
  };
}
