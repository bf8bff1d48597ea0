import type { DeadLetterReason } from "../../core/dead-letter.js";
import type { Message } from "../../core/envelope.js";
import { BmnError, ValidationError } from "../../core/errors.js";
import type { MessageId } from "../../core/ids.js";
import {
  outboxQueueName,
  splitAddress,
  type AgentAddress,
  type AgentName,
  type DomainName,
  type QueueName,
} from "../../core/names.js";
import type { QueueStore, TopicStore } from "../../store/store.js";

export interface RouteResult {
  id: MessageId;
  duplicate: boolean;
  /** For topic messages: the agents that got a copy. */
  recipients?: AgentName[];
  deadLettered?: DeadLetterReason;
}

export interface RouterOptions {
  /**
   * Messages for `name@other` (another domain) go into the outbox `bmn.out.<other>`, from which a gateway forwards
   * them; off, they are refused with 422 UNROUTABLE.
   */
  crossDomain?: boolean | undefined;
}

/**
 * Decides where a message goes: `to` names one agent's queue in this domain, or (with `crossDomain`) the outbox of
 * the agent's domain; `topic` fans out to subscribers in this domain. The message itself is never changed.
 */
export class Router {
  readonly crossDomain: boolean;

  constructor(
    private readonly store: QueueStore & TopicStore,
    readonly domain: DomainName,
    options: RouterOptions = {},
  ) {
    this.crossDomain = options.crossDomain === true;
  }

  /** The agent `address` names in this domain; throws UNROUTABLE for an address in another domain. */
  localAgent(address: AgentAddress): AgentName {
    const { name, domain } = splitAddress(address);
    if (domain !== undefined && domain !== this.domain) {
      throw new BmnError("UNROUTABLE", `no route from domain ${this.domain} to domain ${domain}`, {
        field: "to",
      });
    }
    return name;
  }

  /** The queue a message for `address` goes into: the local agent's, or the outbox of its domain. */
  queueFor(address: AgentAddress): QueueName {
    const { name, domain } = splitAddress(address);
    if (domain === undefined || domain === this.domain) return name;
    if (!this.crossDomain) {
      throw new BmnError(
        "UNROUTABLE",
        `no route from domain ${this.domain} to domain ${domain} (cross-domain routing is off)`,
        { field: "to" },
      );
    }
    return outboxQueueName(domain);
  }

  async send(
    message: Message,
    options: { tx?: string | undefined; actor?: string | undefined } = {},
  ): Promise<RouteResult> {
    if (message.to !== undefined) {
      // Inside the caller's transaction when there is one: the outbox entry commits or rolls back with the rest.
      const result = await this.store.enqueue(this.queueFor(message.to), message, options);
      return result.deadLettered === undefined
        ? { id: result.id, duplicate: result.duplicate }
        : { ...result };
    }
    if (message.topic !== undefined) {
      const result = await this.store.publish(message.topic, message, options);
      return { id: result.id, duplicate: result.duplicate, recipients: result.recipients };
    }
    throw new ValidationError("message needs to (an agent address) or topic", { field: "to" });
  }

  /** Checks a message can be routed without sending it, so a batch can fail before any part is sent. */
  check(message: Message): void {
    if (message.to !== undefined) this.queueFor(message.to);
    else if (message.topic === undefined)
      throw new ValidationError("message needs to (an agent address) or topic", { field: "to" });
  }
}
