/**
 * `bmn bridge legacy`: one process per domain between the legacy Beast Mode network (a Redis: pub/sub channel,
 * mailbox streams, presence keys) and a BMN sidecar, in both directions. It talks to BMN only through the
 * sidecar's HTTP API with the client, so the sidecar's validation, token and limits apply to everything it
 * brings in. docs/bridges.md says which path guarantees what.
 */
import { Redis } from "ioredis";
import { BmnClient, type Delivery } from "../../client/index.js";
import { splitAddress, type AgentAddress } from "../../core/names.js";
import { BridgeMetrics } from "../common/bridge-metrics.js";
import { startBridgeServer, type BridgeServer } from "../common/bridge-server.js";
import { BmnQueuePump, type DeliveryOutcome } from "../common/bmn-queues.js";
import { DeadLetters, type Rejection } from "../common/dead-letters.js";
import { every, forever, untilDone } from "../common/loops.js";
import { storeOrReject } from "../common/store-or-reject.js";
import { LegacyDirectory } from "./legacy-directory.js";
import { LegacyMailboxes, type MailboxEntryRead } from "./legacy-mailboxes.js";
import { bmnToLegacy, cameFromLegacy, legacyToBmn } from "./legacy-mapping.js";
import {
  ANNOUNCE_INTERVAL_MS,
  DEFAULT_MAILBOX_PREFIX,
  DISCOVERY_TYPE,
  KNOWN_LEGACY_TYPES,
  LEGACY_CHANNEL,
  OFFLINE_AFTER_MS,
  bmnNameOf,
  capabilitiesOf,
  channelJson,
  parseChannelMessage,
  parseMailboxEntry,
} from "./legacy-protocol.js";
import { RecentIds } from "./recent-ids.js";

export interface LegacyBridgeOptions {
  /** The BMN sidecar. */
  bmnUrl: string;
  apiToken?: string | undefined;
  /** The legacy network's Redis. */
  redisUrl: string;
  /** The bridge's own BMN agent: its topic subscriptions and its parked rejections. */
  agent: string;
  /** BMN topic patterns whose messages are broadcast on the legacy channel. */
  topics: readonly string[];
  /** Legacy broadcasts become BMN topic `<prefix>.<type>`. */
  topicPrefix: string;
  /** Mailbox stream prefixes; the first is written, all are read. */
  mailboxPrefixes: readonly string[];
  /** The consumer name in the legacy mailbox groups. */
  consumer: string;
  /** The probe port (/healthz, /readyz, /metrics); 0 picks a free one. */
  host: string;
  port: number;
  announceIntervalMs: number;
  offlineAfterMs: number;
  /** How often the BMN registry is read for new agents. */
  refreshIntervalMs: number;
  /** How long an idle round waits before looking again. */
  idleWaitMs: number;
  /** The lease on BMN deliveries: after a crash, what the bridge held is redelivered this long after. */
  leaseMs: number;
}

export const LEGACY_BRIDGE_DEFAULTS = {
  agent: "legacy-bridge",
  topics: ["beast.#"],
  topicPrefix: "legacy",
  mailboxPrefixes: [DEFAULT_MAILBOX_PREFIX, "mailbox"],
  consumer: "bmn-bridge",
  host: "127.0.0.1",
  port: 7421,
  announceIntervalMs: ANNOUNCE_INTERVAL_MS,
  offlineAfterMs: OFFLINE_AFTER_MS,
  refreshIntervalMs: 5_000,
  idleWaitMs: 500,
  leaseMs: 30_000,
} as const;

/** Pub/sub messages waiting for the bridge; beyond this they are dropped and counted (the channel is lossy). */
const MAX_CHANNEL_BACKLOG = 10_000;
const MAILBOX_BATCH = 100;

export interface RunningBridge {
  readonly url: string;
  readonly metrics: BridgeMetrics;
  close(): Promise<void>;
}

export async function startLegacyBridge(
  options: LegacyBridgeOptions,
  warn: (line: string) => void,
): Promise<RunningBridge> {
  const metrics = new BridgeMetrics("legacy");
  const client = new BmnClient({ url: options.bmnUrl, agent: options.agent, apiToken: options.apiToken });
  const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  const subscriber = new Redis(options.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
  for (const connection of [redis, subscriber])
    connection.on("error", (error: Error) => {
      warn(`legacy redis: ${error.message}`);
    });
  const sent = new RecentIds();
  const deadLetters = new DeadLetters(client, options.agent, metrics);
  const directory = new LegacyDirectory(client, redis, metrics, sent, {
    agent: options.agent,
    offlineAfterMs: options.offlineAfterMs,
  });
  const mailboxes = new LegacyMailboxes(redis, options.mailboxPrefixes, options.consumer);
  const pump = new BmnQueuePump(client, deadLetters, options.agent, {
    batch: 50,
    leaseSeconds: options.leaseMs / 1000,
    idleWaitSeconds: options.idleWaitMs / 1000,
    warn,
  });
  const stop = new AbortController();
  let ready = false;
  /** The BMN name a legacy sender gets, or why it cannot send: no usable name, or a BMN agent's name. */
  const senderOf = (source: string): { ok: true; value: string } | { ok: false; rejection: Rejection } => {
    const name = bmnNameOf(source);
    if (name === undefined)
      return {
        ok: false,
        rejection: {
          reason: "invalid",
          detail: `sender ${JSON.stringify(source)} has no usable BMN agent name`,
        },
      };
    return directory.isBmnAgent(name)
      ? { ok: false, rejection: impersonation(source) }
      : { ok: true, value: name };
  };

  await Promise.all([redis.connect(), subscriber.connect()]);
  await client.register({
    agent: options.agent,
    capabilities: ["bmn-bridge", "legacy"],
    metadata: { bridge: "legacy" },
    ttlSeconds: 86_400,
  });
  for (const pattern of options.topics) await client.subscribe(pattern, { agent: options.agent });
  await directory.refresh();

  // ---- legacy channel → BMN -----------------------------------------------------------------------------------
  const backlog: string[] = [];
  let draining = false;
  const drainChannel = async (): Promise<void> => {
    if (draining) return;
    draining = true;
    try {
      for (let text = backlog.shift(); text !== undefined; text = backlog.shift()) {
        await untilDone("legacy channel", () => channelMessage(text), stop.signal, warn);
      }
    } finally {
      draining = false;
    }
  };
  const channelMessage = async (text: string): Promise<void> => {
    const parsed = parseChannelMessage(text);
    if (!parsed.ok) {
      await deadLetters.reject("legacy-channel-in", parsed.rejection, text);
      return;
    }
    const legacy = parsed.value;
    if (sent.has(legacy.id)) return; // our own message, back from the channel
    if (!KNOWN_LEGACY_TYPES.has(legacy.type)) metrics.count("legacy-channel-in", "unknown-type");
    if (legacy.type === DISCOVERY_TYPE) {
      await directory.legacyAnnounced(legacy.source, capabilitiesOf(legacy.payload));
      return;
    }
    // The bridge's own messages were recognised above by id: a BMN agent's name here is someone else's.
    const sender = senderOf(legacy.source);
    if (!sender.ok) {
      await deadLetters.reject("legacy-channel-in", sender.rejection, text);
      return;
    }
    const from = sender.value;
    if (legacy.target === null) {
      const topic = `${options.topicPrefix}.${legacy.type}`;
      const result = await storeOrReject(
        () => client.publish(topic, legacyToBmn(legacy, from, { topic })),
        (rejection) => deadLetters.reject("legacy-broadcast-in", rejection, text),
      );
      if (result !== undefined)
        metrics.count("legacy-broadcast-in", result.duplicate ? "duplicate" : "bridged");
      return;
    }
    const to = bmnNameOf(legacy.target);
    if (to === undefined || !directory.isBmnAgent(to)) return; // legacy to legacy: not ours
    const result = await storeOrReject(
      () => client.send(legacyToBmn(legacy, from, { to })),
      (rejection) => deadLetters.reject("legacy-direct-in", rejection, text),
    );
    if (result !== undefined) metrics.count("legacy-direct-in", result.duplicate ? "duplicate" : "bridged");
  };
  subscriber.on("message", (channel: string, text: string) => {
    if (channel !== LEGACY_CHANNEL) return;
    if (backlog.length >= MAX_CHANNEL_BACKLOG) {
      metrics.count("legacy-channel-in", "dropped");
      warn("legacy channel backlog full: a pub/sub message was dropped");
      return;
    }
    backlog.push(text);
    void drainChannel();
  });
  await subscriber.subscribe(LEGACY_CHANNEL);

  // ---- legacy mailboxes of BMN agents → BMN ---------------------------------------------------------------------
  const mailboxEntry = async (agent: string, entry: MailboxEntryRead): Promise<void> => {
    if (entry.fields === null) {
      await mailboxes.ack(entry); // deleted from the stream while pending: nothing left to carry
      return;
    }
    const input = JSON.stringify(entry.fields);
    const reject = (rejection: Rejection): Promise<void> =>
      deadLetters.reject("legacy-mailbox-in", rejection, input, { stream: entry.stream });
    const parsed = parseMailboxEntry(entry.fields);
    const sender = parsed.ok ? senderOf(parsed.value.source) : parsed;
    if (!parsed.ok || !sender.ok) {
      await reject(sender.ok ? invalidEntry : sender.rejection);
    } else {
      if (!KNOWN_LEGACY_TYPES.has(parsed.value.type)) metrics.count("legacy-mailbox-in", "unknown-type");
      const result = await storeOrReject(
        () => client.send(legacyToBmn(parsed.value, sender.value, { to: agent })),
        reject,
      );
      if (result !== undefined)
        metrics.count("legacy-mailbox-in", result.duplicate ? "duplicate" : "bridged");
    }
    await mailboxes.ack(entry); // only now: BMN has stored it (or its dead letter)
  };
  const mailboxRound = async (): Promise<number> => {
    let handled = 0;
    for (const agent of directory.bmnAgents()) {
      for (const entry of await mailboxes.read(agent, MAILBOX_BATCH)) {
        try {
          await mailboxEntry(agent, entry);
        } catch (error) {
          // This entry and the rest of its batch stay pending for this consumer: read them again from there.
          mailboxes.rereadPending(entry.stream);
          throw error;
        }
        handled++;
      }
    }
    return handled;
  };

  // ---- BMN → legacy mailboxes and channel -----------------------------------------------------------------------
  const outbound = async (delivery: Delivery, queue: string): Promise<DeliveryOutcome> => {
    const message = delivery.message;
    if (cameFromLegacy(message)) {
      metrics.count("bmn-out", "skipped-loop"); // never send the legacy network its own message back
      return "ack";
    }
    const source = senderName(message.from, options.agent);
    if (queue === options.agent) {
      sent.remember(message.id);
      await redis.publish(LEGACY_CHANNEL, channelJson(bmnToLegacy(message, source, null)));
      metrics.count("bmn-broadcast-out", "bridged");
      return "ack";
    }
    const legacyId = directory.legacyAgents().get(queue) ?? queue;
    const written = await mailboxes.write(legacyId, bmnToLegacy(message, source, legacyId));
    metrics.count("bmn-direct-out", written ? "bridged" : "duplicate");
    return "ack";
  };

  // ---- loops ----------------------------------------------------------------------------------------------------
  const loops = [
    every(options.refreshIntervalMs, stop.signal, warn, "registry refresh", () => directory.refresh()),
    every(options.announceIntervalMs, stop.signal, warn, "presence", async () => {
      await directory.scanLegacyPresence();
      await directory.announceBmnAgents();
    }),
    forever(stop.signal, warn, "legacy mailboxes", options.idleWaitMs, mailboxRound),
    forever(stop.signal, warn, "BMN queues", 0, () =>
      pump.round([...directory.legacyAgents().keys()], outbound, stop.signal),
    ),
  ];
  const server: BridgeServer = await startBridgeServer(options.host, options.port, metrics, () => ready);
  ready = true;

  return {
    url: server.url,
    metrics,
    close: async () => {
      ready = false;
      stop.abort();
      await Promise.allSettled(loops);
      await server.close();
      subscriber.disconnect();
      redis.disconnect();
    },
  };
}

/** A legacy message whose sender is a BMN agent's name: BMN agents never send from the legacy side. */
function impersonation(source: string): Rejection {
  return {
    reason: "forbidden",
    detail: `sender ${JSON.stringify(source)} is the name of a BMN agent; a legacy agent may not send as one`,
  };
}

const invalidEntry: Rejection = { reason: "invalid", detail: "not a legacy mailbox entry" };

/** The BMN agent name in a `from` address (`name` or `name@domain`), or `fallback`. */
function senderName(from: string | undefined, fallback: string): string {
  if (from === undefined) return fallback;
  try {
    return splitAddress(from as AgentAddress).name;
  } catch {
    return fallback;
  }
}
