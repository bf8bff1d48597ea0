import type { Command } from "commander";
import type { CommandEnv } from "../context.js";
import { closeOnSignal } from "../close-on-signal.js";
import { CliError, UsageError } from "../errors.js";
import type { ConsumeRoute, PublishRoute } from "../../bridge/common/routes.js";
import { bridgeKindOf, type BridgeKind } from "../bridge-target.js";

export interface BridgeFlags {
  redisUrl?: string;
  legacy?: boolean;
  topic: string[];
  topicPrefix?: string;
  mailboxPrefix: string[];
  bridgeAgent?: string;
  consume: string[];
  publish: string[];
  group?: string;
  brokerUrl?: string;
  host?: string;
  port?: string;
  apiToken?: string;
}

const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `bmn bridge <legacy|amqp|kafka|url>`: runs a bridge in the foreground until SIGINT or SIGTERM. */
export function registerBridge(program: Command, env: CommandEnv): void {
  program
    .command("bridge")
    .description("run a bridge between BMN (the sidecar at --url) and the legacy network, RabbitMQ or Kafka")
    .argument(
      "<target>",
      "legacy, amqp, kafka, or a URL: redis://... (with --legacy), amqp://..., kafka://...",
    )
    .option("--redis-url <url>", "legacy: the legacy network's Redis (env BMN_LEGACY_REDIS_URL)")
    .option("--legacy", "with a redis:// target: bridge the legacy Beast Mode network found there")
    .option(
      "--topic <pattern>",
      "legacy: broadcast BMN messages on this topic pattern (repeatable; default beast.#)",
      collect,
      [],
    )
    .option(
      "--topic-prefix <prefix>",
      "legacy: legacy broadcasts become BMN topic <prefix>.<type> (default legacy)",
    )
    .option(
      "--mailbox-prefix <prefix>",
      "legacy: mailbox stream prefix, first one written (default beast:mailbox and mailbox)",
      collect,
      [],
    )
    .option(
      "--consume <from=to>",
      "amqp/kafka: a queue or Kafka topic into a BMN agent or topic:<t> (repeatable)",
      collect,
      [],
    )
    .option(
      "--publish <from=to>",
      "amqp/kafka: a BMN topic pattern or agent:<name> out to exchange[:routing-key] or a Kafka topic (repeatable)",
      collect,
      [],
    )
    .option(
      "--broker-url <url>",
      "amqp/kafka: the broker when the target is just amqp or kafka (env BMN_BRIDGE_BROKER_URL)",
    )
    .option("--group <id>", "kafka: the consumer group (default bmn-bridge)")
    .option("--bridge-agent <name>", "the bridge's own BMN agent (default <kind>-bridge)")
    .option("--host <host>", "probe address for /healthz, /readyz, /metrics (default 127.0.0.1)")
    .option("--port <port>", "probe port (default 7421; 0 picks a free one)")
    .option("--api-token <token>", "the sidecar's API token (env BMN_API_TOKEN)")
    .addHelpText(
      "after",
      `
Examples:
  bmn bridge legacy --redis-url redis://legacy-redis:6379 --topic 'beast.#'
  bmn bridge redis://legacy-redis:6379 --legacy
  bmn bridge amqp://guest:guest@rabbit:5672 --consume orders=billing --publish 'invoices.#=bmn:invoices'
  bmn bridge kafka://broker:9092 --consume events=topic:kafka.events --publish 'audit.#=audit'
Guarantees per path and every option: docs/bridges.md`,
    )
    .action(async (target: string, flags: BridgeFlags, command: Command) => {
      const ctx = env.context(command);
      const kind: BridgeKind = bridgeKindOf(target, flags.legacy === true);
      const port = flags.port === undefined ? 7421 : Number(flags.port);
      if (!Number.isInteger(port) || port < 0 || port > 65_535)
        throw new UsageError(`--port must be 0-65535, got ${JSON.stringify(flags.port)}`);
      const common = {
        bmnUrl: ctx.settings.url,
        apiToken: flags.apiToken ?? ctx.io.env.BMN_API_TOKEN,
        host: flags.host ?? "127.0.0.1",
        port,
        agent: flags.bridgeAgent ?? `${kind}-bridge`,
      };
      const warn = (line: string): void => {
        ctx.io.err(`bmn bridge ${kind}: ${line}\n`);
      };
      let running: { url: string; close(): Promise<void>; metrics: { snapshot(): Record<string, number> } };
      try {
        running = await startBridge(kind, target, flags, common, ctx.io.env, warn);
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(
          `cannot start the ${kind} bridge: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
      ctx.io.err(
        `bmn bridge ${kind} running: BMN at ${ctx.settings.url}; probes and metrics on ${running.url}\n`,
      );
      closeOnSignal("closing the bridge", async () => {
        await running.close();
        ctx.io.err(`bmn bridge ${kind} counts: ${JSON.stringify(running.metrics.snapshot())}\n`);
      });
    });
}

interface CommonOptions {
  bmnUrl: string;
  apiToken: string | undefined;
  host: string;
  port: number;
  agent: string;
}

async function startBridge(
  kind: BridgeKind,
  target: string,
  flags: BridgeFlags,
  common: CommonOptions,
  env: NodeJS.ProcessEnv,
  warn: (line: string) => void,
): Promise<{ url: string; close(): Promise<void>; metrics: { snapshot(): Record<string, number> } }> {
  switch (kind) {
    case "legacy": {
      const redisUrl = flags.redisUrl ?? (target.startsWith("redis") ? target : env.BMN_LEGACY_REDIS_URL);
      if (redisUrl === undefined)
        throw new UsageError("bmn bridge legacy needs the legacy Redis: --redis-url or BMN_LEGACY_REDIS_URL");
      // Loaded here: every other command stays free of bridge code and ioredis.
      const { startLegacyBridge, LEGACY_BRIDGE_DEFAULTS } =
        await import("../../bridge/legacy/legacy-bridge.js");
      return startLegacyBridge(
        {
          ...LEGACY_BRIDGE_DEFAULTS,
          ...common,
          redisUrl,
          topics: flags.topic.length > 0 ? flags.topic : LEGACY_BRIDGE_DEFAULTS.topics,
          topicPrefix: flags.topicPrefix ?? LEGACY_BRIDGE_DEFAULTS.topicPrefix,
          mailboxPrefixes:
            flags.mailboxPrefix.length > 0 ? flags.mailboxPrefix : LEGACY_BRIDGE_DEFAULTS.mailboxPrefixes,
          ...timingOverrides(env),
        },
        warn,
      );
    }
    case "amqp": {
      const { consume, publish } = await routesOf(flags, true);
      const { startAmqpBridge, AMQP_BRIDGE_DEFAULTS } = await import("../../bridge/amqp/amqp-bridge.js");
      return startAmqpBridge(
        {
          ...AMQP_BRIDGE_DEFAULTS,
          ...common,
          amqpUrl: brokerUrl(target, flags, env, "amqp"),
          consume,
          publish,
          ...pickMs(env, "BMN_BRIDGE_LEASE_MS", "leaseMs"),
        },
        warn,
      );
    }
    case "kafka": {
      const { consume, publish } = await routesOf(flags, false);
      const { startKafkaBridge, brokersOf, KAFKA_BRIDGE_DEFAULTS } =
        await import("../../bridge/kafka/kafka-bridge.js");
      const brokers = brokersOf(brokerUrl(target, flags, env, "kafka"));
      if (brokers.length === 0)
        throw new UsageError("the Kafka URL names no broker: kafka://host:port[,host:port]");
      return startKafkaBridge(
        {
          ...KAFKA_BRIDGE_DEFAULTS,
          ...common,
          brokers,
          groupId: flags.group ?? KAFKA_BRIDGE_DEFAULTS.groupId,
          consume,
          publish,
          ...pickMs(env, "BMN_BRIDGE_LEASE_MS", "leaseMs"),
        },
        warn,
      );
    }
  }
}

/** The broker: the URL target itself, else --broker-url, else BMN_BRIDGE_BROKER_URL. */
function brokerUrl(target: string, flags: BridgeFlags, env: NodeJS.ProcessEnv, kind: BridgeKind): string {
  const url = target.includes("://") ? target : (flags.brokerUrl ?? env.BMN_BRIDGE_BROKER_URL);
  if (url === undefined)
    throw new UsageError(
      `bmn bridge ${kind} needs the broker: a ${kind}:// URL as the target, --broker-url or BMN_BRIDGE_BROKER_URL`,
    );
  return url;
}

async function routesOf(
  flags: BridgeFlags,
  withRoutingKey: boolean,
): Promise<{ consume: ConsumeRoute[]; publish: PublishRoute[] }> {
  const { parseConsumeRoute, parsePublishRoute, RouteError } = await import("../../bridge/common/routes.js");
  try {
    const consume = flags.consume.map((spec) => parseConsumeRoute(spec));
    const publish = flags.publish.map((spec) => parsePublishRoute(spec, withRoutingKey));
    if (consume.length + publish.length === 0)
      throw new UsageError("the bridge has nothing to do: give at least one --consume or --publish");
    return { consume, publish };
  } catch (error) {
    if (error instanceof RouteError) throw new UsageError(error.message);
    throw error;
  }
}

/**
 * Test hooks to shorten the legacy bridge's intervals (announce every 30 s, offline after 5 min by default):
 * BMN_BRIDGE_ANNOUNCE_MS, BMN_BRIDGE_OFFLINE_MS, BMN_BRIDGE_REFRESH_MS, BMN_BRIDGE_LEASE_MS (30 s).
 */
function timingOverrides(env: NodeJS.ProcessEnv): Record<string, number> {
  const pick = (name: string, key: string): Record<string, number> => pickMs(env, name, key);
  return {
    ...pick("BMN_BRIDGE_ANNOUNCE_MS", "announceIntervalMs"),
    ...pick("BMN_BRIDGE_OFFLINE_MS", "offlineAfterMs"),
    ...pick("BMN_BRIDGE_REFRESH_MS", "refreshIntervalMs"),
    ...pick("BMN_BRIDGE_LEASE_MS", "leaseMs"),
  };
}

/** A BMN_BRIDGE_*_MS setting as `{ [key]: ms }`, or nothing when unset. */
function pickMs(env: NodeJS.ProcessEnv, name: string, key: string): Record<string, number> {
  const value = env[name];
  if (value === undefined) return {};
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 10)
    throw new UsageError(`${name} must be a whole number of ms ≥ 10, got ${value}`);
  return { [key]: ms };
}
