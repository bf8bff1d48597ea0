/**
 * The `--consume` and `--publish` routes of the AMQP and Kafka bridges, parsed once at start so a typo is a usage
 * error naming the flag, not a surprise at the first message.
 */
import { agentNameSchema, topicPatternSchema, topicSchema } from "../../core/names.js";

/** Where a consumed message goes in BMN: an agent's queue, a topic, or straight to the DLQ. */
export type BmnTarget = { to: string } | { topic: string } | { deadLetter: true };

export interface ConsumeRoute {
  /** The RabbitMQ queue or Kafka topic. */
  source: string;
  target: BmnTarget;
}

/** Which BMN messages go out: those on topics matching `pattern`, or everything queued for `agent`. */
export type BmnSource = { pattern: string } | { agent: string };

export interface PublishRoute {
  source: BmnSource;
  /** The exchange or Kafka topic. */
  destination: string;
  /** AMQP only: the routing key; without it the message's topic (or `to`) is used. */
  routingKey?: string | undefined;
}

export class RouteError extends Error {}

/** `orders=billing`, `orders=topic:shop.orders`, `orders.dead=dlq`. */
export function parseConsumeRoute(spec: string): ConsumeRoute {
  const [source, target] = splitOnce(spec, "--consume", "<queue-or-topic>=<agent|topic:t|dlq>");
  if (target === "dlq") return { source, target: { deadLetter: true } };
  if (target.startsWith("topic:")) {
    const topic = target.slice("topic:".length);
    if (!topicSchema.safeParse(topic).success)
      throw new RouteError(
        `--consume ${spec}: ${JSON.stringify(topic)} is not a BMN topic (dot-separated segments)`,
      );
    return { source, target: { topic } };
  }
  if (!agentNameSchema.safeParse(target).success)
    throw new RouteError(
      `--consume ${spec}: ${JSON.stringify(target)} is not an agent name (a lowercase DNS label)`,
    );
  return { source, target: { to: target } };
}

/** `invoices.#=billing-exchange:invoices`, `agent:outbox=events` (Kafka: no routing key). */
export function parsePublishRoute(spec: string, withRoutingKey: boolean): PublishRoute {
  const [from, to] = splitOnce(
    spec,
    "--publish",
    withRoutingKey ? "<pattern|agent:name>=<exchange>[:<routing-key>]" : "<pattern|agent:name>=<kafka-topic>",
  );
  let source: BmnSource;
  if (from.startsWith("agent:")) {
    const agent = from.slice("agent:".length);
    if (!agentNameSchema.safeParse(agent).success)
      throw new RouteError(`--publish ${spec}: ${JSON.stringify(agent)} is not an agent name`);
    source = { agent };
  } else {
    if (!topicPatternSchema.safeParse(from).success)
      throw new RouteError(`--publish ${spec}: ${JSON.stringify(from)} is not a BMN topic pattern`);
    source = { pattern: from };
  }
  if (!withRoutingKey) return { source, destination: to };
  const colon = to.indexOf(":");
  return colon < 0
    ? { source, destination: to }
    : { source, destination: to.slice(0, colon), routingKey: to.slice(colon + 1) };
}

function splitOnce(spec: string, flag: string, form: string): [string, string] {
  const equals = spec.indexOf("=");
  const left = spec.slice(0, equals);
  const right = spec.slice(equals + 1);
  if (equals <= 0 || right === "")
    throw new RouteError(`${flag} must look like ${form}, got ${JSON.stringify(spec)}`);
  return [left, right];
}
