import type { QueueName } from "../../core/names.js";

/** The order every queue script expects its 12 keys in (see lua/lib.lua). */
const QUEUE_KEY_SUFFIXES = [
  "ready",
  "delayed",
  "leased",
  "msg",
  "state",
  "ttl",
  "dedupe",
  "dlq",
  "dlqmsg",
  "dlqinfo",
  "hist",
  "seq",
] as const;

const MAX_CACHED_QUEUES = 10_000;

export type QueueKeyName = (typeof QUEUE_KEY_SUFFIXES)[number];

/**
 * Key layout. Every key of one agent's queue carries the hash tag `{agent}`, so a queue lives in one cluster slot
 * and each state change is one script. Names are validated DNS labels, so they cannot break out of the tag.
 */
export class RedisKeys {
  /** Key lists are built on every script call; caching them keeps that off the hot path. */
  private readonly queueKeyCache = new Map<string, string[]>();

  constructor(readonly prefix: string) {}

  queue(agent: QueueName): string[] {
    let keys = this.queueKeyCache.get(agent);
    if (keys === undefined) {
      keys = QUEUE_KEY_SUFFIXES.map((suffix) => `${this.prefix}{${agent}}:${suffix}`);
      if (this.queueKeyCache.size >= MAX_CACHED_QUEUES) this.queueKeyCache.clear();
      this.queueKeyCache.set(agent, keys);
    }
    return keys;
  }

  queueKey(agent: QueueName, name: QueueKeyName): string {
    return `${this.prefix}{${agent}}:${name}`;
  }

  /** The hash tag of an agent's queue, which decides its cluster slot. */
  slotTag(agent: QueueName): string {
    return agent;
  }

  notifyChannel(agent: QueueName): string {
    return `${this.notifyPrefix}${agent}`;
  }

  get notifyPrefix(): string {
    return `${this.prefix}notify:`;
  }

  get queues(): string {
    return `${this.prefix}queues`;
  }

  /** Where subscriptions lived before the publish index; moved at start (see RedisStore.migrateSubscriptions). */
  get legacySubscriptions(): string {
    return `${this.prefix}subscriptions`;
  }

  /**
   * The subscription keys share the hash tag `{subs}`, so one script keeps them consistent in a cluster: every
   * "agent pattern", each agent's patterns (and wildcard ones, for the caps), the agents of each exact topic,
   * and every wildcard "agent pattern" (what a publish must match one by one).
   */
  subscriptionKeys(agent: string, pattern: string, wildcard: boolean): string[] {
    const base = `${this.prefix}{subs}:`;
    return [
      `${base}all`,
      `${base}agent:${agent}`,
      `${base}agentwild:${agent}`,
      wildcard ? `${base}wild` : `${base}exact:${pattern}`,
    ];
  }

  get allSubscriptions(): string {
    return `${this.prefix}{subs}:all`;
  }

  get wildcardSubscriptions(): string {
    return `${this.prefix}{subs}:wild`;
  }

  exactSubscribers(topic: string): string {
    return `${this.prefix}{subs}:exact:${topic}`;
  }

  get agents(): string {
    return `${this.prefix}agents`;
  }

  get transactionLog(): string {
    return `${this.prefix}txlog`;
  }

  /** Trace keys are tagged by message id, so one message's events sit together whatever the queue. */
  trace(messageId: string): string {
    return `${this.prefix}trace:{${messageId}}`;
  }

  /**
   * An A2A task's keys (task, events, event ids, push configs) share the hash tag of its id, so each write of a
   * task is one script on one cluster slot. Task ids are validated ids (no braces), so they cannot break the tag.
   */
  a2aTask(taskId: string): [string, string, string, string] {
    const base = `${this.prefix}a2a:{${taskId}}:`;
    return [`${base}task`, `${base}events`, `${base}eventids`, `${base}push`];
  }

  correlation(correlationId: string): string {
    return `${this.prefix}corr:{${Buffer.from(correlationId).toString("base64url")}}`;
  }
}
