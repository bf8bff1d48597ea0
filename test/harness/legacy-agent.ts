import { randomUUID } from "node:crypto";
import { Redis } from "ioredis";

/** One message of the legacy pub/sub channel, as today's agents write it. */
export interface LegacyChannelMessage {
  type: string;
  source: string;
  target: string | null;
  payload: unknown;
  timestamp: string;
  priority: number;
  id: string;
}

export interface LegacyMailboxEntry {
  entryId: string;
  fields: Record<string, string>;
}

const CHANNEL = "beast_mode_network";

/**
 * A legacy Beast Mode agent, written from the brief ("Legacy Beast Mode") and nothing of the bridge: compact JSON
 * on the channel `beast_mode_network`, its mailbox stream `beast:mailbox:<id>:in` read through `<id>:group`, and
 * the presence key `beast:agents:<id>` with the set `beast:agents:all`.
 */
export class LegacyAgent {
  /** Everything heard on the channel (its own messages included, as pub/sub delivers them). */
  readonly heard: LegacyChannelMessage[] = [];
  /** Channel messages that were not JSON objects. */
  readonly unparsed: string[] = [];
  private readonly redis: Redis;
  private readonly subscriber: Redis;

  private constructor(
    redisUrl: string,
    readonly id: string,
    readonly capabilities: string[],
  ) {
    this.redis = new Redis(redisUrl, { lazyConnect: true });
    this.subscriber = new Redis(redisUrl, { lazyConnect: true });
  }

  static async start(redisUrl: string, id: string, capabilities: string[] = []): Promise<LegacyAgent> {
    const agent = new LegacyAgent(redisUrl, id, capabilities);
    await Promise.all([agent.redis.connect(), agent.subscriber.connect()]);
    agent.subscriber.on("message", (_channel: string, text: string) => {
      try {
        agent.heard.push(JSON.parse(text) as LegacyChannelMessage);
      } catch {
        agent.unparsed.push(text);
      }
    });
    await agent.subscriber.subscribe(CHANNEL);
    try {
      await agent.redis.xgroup("CREATE", agent.mailbox, agent.group, "$", "MKSTREAM");
    } catch (error) {
      if (!(error instanceof Error && error.message.startsWith("BUSYGROUP"))) throw error;
    }
    return agent;
  }

  get mailbox(): string {
    return `beast:mailbox:${this.id}:in`;
  }

  get group(): string {
    return `${this.id}:group`;
  }

  /** `agent_discovery` on the channel, plus the presence key (TTL 5 min) and the set. */
  async announce(): Promise<void> {
    const presence = {
      agent_id: this.id,
      capabilities: this.capabilities,
      registered_at: new Date().toISOString(),
      state: "active",
    };
    await this.redis.set(`beast:agents:${this.id}`, JSON.stringify(presence), "EX", 300);
    await this.redis.sadd("beast:agents:all", this.id);
    await this.publish({
      type: "agent_discovery",
      target: null,
      payload: { capabilities: this.capabilities },
    });
  }

  /** Publishes a channel message from this agent; answers its id. */
  async publish(message: {
    type: string;
    target: string | null;
    payload: unknown;
    priority?: number;
    id?: string;
  }): Promise<string> {
    const id = message.id ?? randomUUID();
    const full: LegacyChannelMessage = {
      type: message.type,
      source: this.id,
      target: message.target,
      payload: message.payload,
      timestamp: new Date().toISOString(),
      priority: message.priority ?? 5,
      id,
    };
    await this.redis.publish(CHANNEL, JSON.stringify(full));
    return id;
  }

  /** Raw text on the channel (for malformed input). */
  async publishRaw(text: string): Promise<void> {
    await this.redis.publish(CHANNEL, text);
  }

  /** Writes into another agent's mailbox stream; answers the message id. */
  async sendToMailbox(
    recipient: string,
    type: string,
    payload: unknown,
    id: string = randomUUID(),
  ): Promise<string> {
    await this.redis.xadd(
      `beast:mailbox:${recipient}:in`,
      "*",
      ...["message_id", id, "sender", this.id, "recipient", recipient],
      ...["payload", JSON.stringify(payload), "message_type", type, "timestamp", new Date().toISOString()],
    );
    return id;
  }

  /** Raw fields into another agent's mailbox (for malformed input). */
  async sendRawToMailbox(recipient: string, fields: string[]): Promise<void> {
    await this.redis.xadd(`beast:mailbox:${recipient}:in`, "*", ...fields);
  }

  /** Reads (and acks) up to `count` new entries of this agent's mailbox through its group. */
  async readMailbox(count = 100): Promise<LegacyMailboxEntry[]> {
    const reply = (await this.redis.xreadgroup(
      "GROUP",
      this.group,
      "legacy-test",
      "COUNT",
      count,
      "STREAMS",
      this.mailbox,
      ">",
    )) as [string, [string, string[]][]][] | null;
    const entries = (reply?.[0]?.[1] ?? []).map(([entryId, list]) => {
      const fields: Record<string, string> = {};
      for (let i = 0; i + 1 < list.length; i += 2) fields[list[i] ?? ""] = list[i + 1] ?? "";
      return { entryId, fields };
    });
    if (entries.length > 0) await this.redis.xack(this.mailbox, this.group, ...entries.map((e) => e.entryId));
    return entries;
  }

  /** The raw Redis connection, for assertions on keys and groups. */
  get connection(): Redis {
    return this.redis;
  }

  async close(): Promise<void> {
    await Promise.all([this.subscriber.quit(), this.redis.quit()]);
  }
}
