import type { AgentName, Topic, TopicPattern } from "../../core/names.js";
import {
  isWildcardPattern,
  type SubscriptionBackend,
  type SubscriptionLimits,
} from "../base/subscription-role.js";
import type { Subscription } from "../store.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";
import type { ScriptRunner } from "./script-runner.js";

/**
 * Subscriptions in Redis: every one in a set, and a publish index (per exact topic, and the wildcard ones), kept
 * together by subscribe.lua and unsubscribe.lua, which also check the per-agent caps.
 */
export class RedisSubscriptions implements SubscriptionBackend {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly scripts: ScriptRunner,
  ) {}

  async addSubscription(
    subscription: Subscription,
    limits: SubscriptionLimits,
  ): Promise<"existed" | "added" | "limit" | "wildcard-limit"> {
    const reply = await this.runSubscriptionScript("subscribe", subscription, [
      limits.max,
      limits.maxWildcard,
    ]);
    return reply as "existed" | "added" | "limit" | "wildcard-limit";
  }

  async removeSubscription(subscription: Subscription): Promise<boolean> {
    return Number(await this.runSubscriptionScript("unsubscribe", subscription, [])) === 1;
  }

  /** subscribe.lua and unsubscribe.lua take the same keys and leading arguments. */
  private runSubscriptionScript(
    name: "subscribe" | "unsubscribe",
    { agent, pattern }: Subscription,
    extra: number[],
  ): Promise<unknown> {
    const wildcard = isWildcardPattern(pattern);
    return callRedis(() =>
      this.scripts.run(name, this.keys.subscriptionKeys(agent, pattern, wildcard), [
        `${agent} ${pattern}`,
        pattern,
        agent,
        wildcard ? "1" : "0",
        ...extra,
      ]),
    );
  }

  async readSubscriptions(): Promise<Subscription[]> {
    return toSubscriptions(await callRedis(() => this.client.smembers(this.keys.allSubscriptions)));
  }

  async readSubscribers(topic: Topic): Promise<Subscription[]> {
    const [exact, wildcard] = await callRedis(() =>
      Promise.all([
        this.client.smembers(this.keys.exactSubscribers(topic)),
        this.client.smembers(this.keys.wildcardSubscriptions),
      ]),
    );
    return [
      ...exact.map((agent) => ({ agent: agent as AgentName, pattern: topic as string as TopicPattern })),
      ...toSubscriptions(wildcard),
    ];
  }

  /** Moves subscriptions from the set older versions kept into the publish index, once, at start. */
  async migrateSubscriptions(): Promise<void> {
    const legacy = await callRedis(() => this.client.smembers(this.keys.legacySubscriptions));
    if (legacy.length === 0) return;
    const unlimited = { max: Number.MAX_SAFE_INTEGER, maxWildcard: Number.MAX_SAFE_INTEGER };
    for (const subscription of toSubscriptions(legacy)) await this.addSubscription(subscription, unlimited);
    await callRedis(() => this.client.del(this.keys.legacySubscriptions));
  }
}

function toSubscriptions(members: string[]): Subscription[] {
  return members.map((member) => {
    const [agent, pattern] = member.split(" ");
    return { agent, pattern } as Subscription;
  });
}
