import type { AgentName, Topic, TopicPattern } from "../../core/names.js";
import {
  isWildcardPattern,
  type SubscriptionBackend,
  type SubscriptionLimits,
} from "../base/subscription-role.js";
import type { Subscription } from "../store.js";

/**
 * Subscriptions in memory: per agent, by exact topic, and the wildcard ones apart, so a publish looks only at the
 * exact topic and the (capped) wildcard patterns.
 */
export class MemorySubscriptions implements SubscriptionBackend {
  private readonly subscriptionsByAgent = new Map<AgentName, Set<TopicPattern>>();
  private readonly exactSubscribers = new Map<string, Set<AgentName>>();
  private readonly wildcardSubscriptions = new Map<string, Subscription>();

  addSubscription(
    subscription: Subscription,
    limits: SubscriptionLimits,
  ): Promise<"existed" | "added" | "limit" | "wildcard-limit"> {
    const { agent, pattern } = subscription;
    const mine = this.subscriptionsByAgent.get(agent) ?? new Set<TopicPattern>();
    if (mine.has(pattern)) return Promise.resolve("existed");
    if (mine.size >= limits.max) return Promise.resolve("limit");
    const wildcard = isWildcardPattern(pattern);
    if (wildcard && [...mine].filter(isWildcardPattern).length >= limits.maxWildcard)
      return Promise.resolve("wildcard-limit");
    mine.add(pattern);
    this.subscriptionsByAgent.set(agent, mine);
    if (wildcard) this.wildcardSubscriptions.set(`${agent} ${pattern}`, subscription);
    else {
      const agents = this.exactSubscribers.get(pattern) ?? new Set<AgentName>();
      agents.add(agent);
      this.exactSubscribers.set(pattern, agents);
    }
    return Promise.resolve("added");
  }

  removeSubscription({ agent, pattern }: Subscription): Promise<boolean> {
    const mine = this.subscriptionsByAgent.get(agent);
    if (mine?.delete(pattern) !== true) return Promise.resolve(false);
    if (mine.size === 0) this.subscriptionsByAgent.delete(agent);
    this.wildcardSubscriptions.delete(`${agent} ${pattern}`);
    const agents = this.exactSubscribers.get(pattern);
    agents?.delete(agent);
    if (agents?.size === 0) this.exactSubscribers.delete(pattern);
    return Promise.resolve(true);
  }

  readSubscriptions(): Promise<Subscription[]> {
    return Promise.resolve(
      [...this.subscriptionsByAgent].flatMap(([agent, patterns]) =>
        [...patterns].map((pattern) => ({ agent, pattern })),
      ),
    );
  }

  readSubscribers(topic: Topic): Promise<Subscription[]> {
    const exact = [...(this.exactSubscribers.get(topic) ?? [])].map((agent) => ({
      agent,
      pattern: topic as string as TopicPattern,
    }));
    return Promise.resolve([...exact, ...this.wildcardSubscriptions.values()]);
  }
}
