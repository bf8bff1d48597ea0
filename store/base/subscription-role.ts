import { BmnError } from "../../core/errors.js";
import type { AgentName, Topic } from "../../core/names.js";
import { topicMatches } from "../../core/topic-match.js";
import type { DeliveryPolicy } from "../roles/delivery-policy.js";
import type { Subscription } from "../roles/topics.js";
import { toAgentName, toTopicPattern } from "../validate.js";

export interface SubscriptionLimits {
  max: number;
  maxWildcard: number;
}

/** A pattern with `*` or `#` segments: it cannot be looked up by topic, so publish matches it one by one. */
export function isWildcardPattern(pattern: string): boolean {
  return pattern.split(".").some((segment) => segment === "*" || segment === "#");
}

/** What the subscription half of the topic role needs of a backend. */
export interface SubscriptionBackend {
  /** Adds a subscription unless the agent is at one of its caps (checked in the same atomic step where possible). */
  addSubscription(
    subscription: Subscription,
    limits: SubscriptionLimits,
  ): Promise<"existed" | "added" | "limit" | "wildcard-limit">;
  /** Removes a subscription; true when it was there. */
  removeSubscription(subscription: Subscription): Promise<boolean>;
  readSubscriptions(): Promise<Subscription[]>;
  /**
   * The subscriptions a publish to `topic` must look at: those whose pattern is exactly `topic` and every wildcard
   * one (capped per agent), never the whole list.
   */
  readSubscribers(topic: Topic): Promise<Subscription[]>;
}

/** Subscriptions, the same for every backend: validation, the per-agent caps, and who a topic reaches. */
export class SubscriptionRole {
  private readonly limits: SubscriptionLimits;

  constructor(
    private readonly backend: SubscriptionBackend,
    policy: Pick<DeliveryPolicy, "maxSubscriptionsPerAgent" | "maxWildcardSubscriptionsPerAgent">,
  ) {
    this.limits = {
      max: policy.maxSubscriptionsPerAgent,
      maxWildcard: policy.maxWildcardSubscriptionsPerAgent,
    };
  }

  async subscribe(agent: string, pattern: string): Promise<void> {
    const limits = this.limits;
    const outcome = await this.backend.addSubscription(
      { agent: toAgentName(agent), pattern: toTopicPattern(pattern) },
      limits,
    );
    if (outcome === "limit" || outcome === "wildcard-limit") {
      const what =
        outcome === "limit" ? `${limits.max} subscriptions` : `${limits.maxWildcard} wildcard subscriptions`;
      throw new BmnError("TOO_MANY_SUBSCRIPTIONS", `agent ${agent} has ${what} already, the most allowed`, {
        field: "pattern",
      });
    }
  }

  async unsubscribe(agent: string, pattern: string): Promise<boolean> {
    return this.backend.removeSubscription({ agent: toAgentName(agent), pattern: toTopicPattern(pattern) });
  }

  async listSubscriptions(agent?: string): Promise<Subscription[]> {
    const only = agent === undefined ? undefined : toAgentName(agent);
    const all = await this.backend.readSubscriptions();
    return all
      .filter((subscription) => only === undefined || subscription.agent === only)
      .sort((a, b) => a.agent.localeCompare(b.agent) || a.pattern.localeCompare(b.pattern));
  }

  /** The agents a publish to `topic` reaches, sorted, each once. */
  async subscribersOf(topic: Topic): Promise<AgentName[]> {
    const agents = new Set<AgentName>();
    for (const { agent, pattern } of await this.backend.readSubscribers(topic)) {
      if (topicMatches(pattern, topic)) agents.add(agent);
    }
    return [...agents].sort();
  }
}
