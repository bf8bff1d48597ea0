/**
 * What the AMQP and Kafka bridges share: their BMN agent (registered, subscribed to the `--publish` patterns), the
 * choice of a `--publish` route for a BMN delivery, the loop that moves BMN deliveries out, and the probe server.
 */
import { BmnClient, type Delivery, type Message, type MessageInput } from "../../client/index.js";
import { topicMatches } from "../../core/topic-match.js";
import { BridgeMetrics } from "./bridge-metrics.js";
import { startBridgeServer } from "./bridge-server.js";
import { BmnQueuePump, type DeliveryOutcome } from "./bmn-queues.js";
import { DeadLetters, type Rejection } from "./dead-letters.js";
import { forever } from "./loops.js";
import type { BmnTarget, PublishRoute } from "./routes.js";
import { storeOrReject } from "./store-or-reject.js";

/** A broker message as a BMN message, or why it cannot be one. */
export type Mapped = { ok: true; value: MessageInput } | { ok: false; rejection: Rejection };

export interface BrokerBridgeOptions {
  bmnUrl: string;
  apiToken?: string | undefined;
  agent: string;
  publish: readonly PublishRoute[];
  host: string;
  port: number;
  leaseMs: number;
  idleWaitMs: number;
}

export interface RunningBrokerBridge {
  readonly url: string;
  readonly metrics: BridgeMetrics;
  close(): Promise<void>;
}

/** Hands one BMN message to the broker along `route`: "ack" once the broker has it, or a rejection. */
export type BrokerSend = (route: PublishRoute, message: Message) => Promise<DeliveryOutcome>;

export class BrokerBridge {
  readonly metrics: BridgeMetrics;
  readonly client: BmnClient;
  readonly deadLetters: DeadLetters;
  readonly stop = new AbortController();

  constructor(
    readonly kind: "amqp" | "kafka",
    private readonly options: BrokerBridgeOptions,
    private readonly warn: (line: string) => void,
  ) {
    this.metrics = new BridgeMetrics(kind);
    this.client = new BmnClient({ url: options.bmnUrl, agent: options.agent, apiToken: options.apiToken });
    this.deadLetters = new DeadLetters(this.client, options.agent, this.metrics);
  }

  /** Registers the bridge's agent and subscribes it to the topic patterns of the `--publish` routes. */
  async register(): Promise<void> {
    await this.client.register({
      agent: this.options.agent,
      capabilities: ["bmn-bridge", this.kind],
      metadata: { bridge: this.kind },
      ttlSeconds: 86_400,
    });
    for (const route of this.options.publish)
      if ("pattern" in route.source)
        await this.client.subscribe(route.source.pattern, { agent: this.options.agent });
  }

  /**
   * Moves BMN deliveries out through `send` until stopped: topic messages from the bridge's own queue, and
   * everything queued for the agents of `agent:<name>` routes. A message with no route is dead-lettered as
   * `unroutable`; `skip` says which messages never go back out (they came from the broker).
   */
  runOutbound(send: BrokerSend, skip: (message: Message, route: PublishRoute) => boolean): Promise<void> {
    const path = `${this.kind}-out`;
    const outbound = async (delivery: Delivery, queue: string): Promise<DeliveryOutcome> => {
      const message = delivery.message;
      const route = this.routeFor(message, queue);
      if (route === undefined) {
        this.metrics.count(path, "dead-lettered");
        const what = message.topic === undefined ? `a message to ${queue}` : `topic ${message.topic}`;
        return { reason: "unroutable", detail: `no --publish route for ${what}` };
      }
      if (skip(message, route)) {
        this.metrics.count(path, "skipped-loop");
        return "ack";
      }
      const outcome = await send(route, message);
      this.metrics.count(path, outcome === "ack" ? "bridged" : "dead-lettered");
      return outcome;
    };
    const pump = new BmnQueuePump(this.client, this.deadLetters, this.options.agent, {
      batch: 50,
      leaseSeconds: this.options.leaseMs / 1000,
      idleWaitSeconds: this.options.idleWaitMs / 1000,
      warn: this.warn,
    });
    const agentQueues = this.options.publish.flatMap((r) => ("agent" in r.source ? [r.source.agent] : []));
    return forever(this.stop.signal, this.warn, "BMN queues", 0, () =>
      pump.round(agentQueues, outbound, this.stop.signal),
    );
  }

  /**
   * Brings one broker message into BMN along `target`, resolving once BMN stored it (or its dead letter), so the
   * caller may ack or commit it at the broker. `map` turns it into a BMN message or a rejection; a `dlq` target
   * dead-letters it with `deadLetter()`. Throws when BMN is away: the caller retries and keeps it at the broker.
   */
  async bringIn(incoming: {
    target: BmnTarget;
    map: (destination: { to: string } | { topic: string }) => Mapped;
    deadLetter: () => Rejection;
    raw: () => string;
    context: Record<string, string>;
  }): Promise<void> {
    const path = `${this.kind}-in`;
    const target = incoming.target;
    const reject = (rejection: Rejection): Promise<void> =>
      this.deadLetters.reject(path, rejection, incoming.raw(), incoming.context);
    if ("deadLetter" in target) return reject(incoming.deadLetter());
    const mapped = incoming.map(target);
    if (!mapped.ok) return reject(mapped.rejection);
    const input = mapped.value;
    const result = await storeOrReject(
      () => ("topic" in target ? this.client.publish(target.topic, input) : this.client.send(input)),
      reject,
    );
    if (result !== undefined) this.metrics.count(path, result.duplicate ? "duplicate" : "bridged");
  }

  /** Serves the probes; `close()` stops the loops (awaiting `loops`) and the server. */
  async serve(
    ready: () => boolean,
    loops: readonly Promise<void>[],
    closeBroker: () => Promise<void>,
  ): Promise<RunningBrokerBridge> {
    const server = await startBridgeServer(this.options.host, this.options.port, this.metrics, ready);
    return {
      url: server.url,
      metrics: this.metrics,
      close: async () => {
        this.stop.abort();
        await Promise.allSettled(loops);
        await closeBroker();
        await server.close();
      },
    };
  }

  private routeFor(message: Message, queue: string): PublishRoute | undefined {
    if (queue !== this.options.agent)
      return this.options.publish.find((r) => "agent" in r.source && r.source.agent === queue);
    const topic = message.topic;
    if (topic === undefined) return undefined;
    return this.options.publish.find((r) => "pattern" in r.source && topicMatches(r.source.pattern, topic));
  }
}
