import type { Message } from "../../core/envelope.js";
import type { MessageId } from "../../core/ids.js";
import type { AgentName, TopicPattern } from "../../core/names.js";
import type { WriteOptions } from "./queues.js";

/** Topics: subscriptions by pattern, and publish as a fan-out to every matching agent's queue. */
export interface TopicStore {
  /** Fans a message out to every agent with a subscription pattern matching `topic`. */
  publish(topic: string, message: Message, options?: WriteOptions): Promise<PublishResult>;
  subscribe(agent: string, pattern: string): Promise<void>;
  unsubscribe(agent: string, pattern: string): Promise<boolean>;
  listSubscriptions(agent?: string): Promise<Subscription[]>;
}

export interface PublishResult {
  id: MessageId;
  /** Agents that got the message; those for which it was a duplicate are left out. */
  recipients: AgentName[];
  duplicate: boolean;
}

export interface Subscription {
  agent: AgentName;
  pattern: TopicPattern;
}
