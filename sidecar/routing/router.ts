import type { Message } from "../../core/envelope.js";
import { BmnError, ValidationError } from "../../core/errors.js";
import type { MessageId } from "../../core/ids.js";
import { splitAddress, type AgentAddress, type AgentName, type DomainName } from "../../core/names.js";
import type { MessageStore } from "../store/store.js";

export interface RouteResult {
  id: MessageId;
  duplicate: boolean;
  /** For topic messages: the agents that got a copy. */
  recipients?: AgentName[];
  deadLettered?: string;
}

/**
 * Decides where a message goes inside this domain: `to` names one agent's queue, `topic` fans out to subscribers.
 * Addresses in other domains need a gateway route, which arrives with cross-domain delivery.
 */
export class Router {
  constructor(
    private readonly store: MessageStore,
    readonly domain: DomainName,
  ) {}

  localAgent(address: AgentAddress): AgentName {
    const { name, domain } = splitAddress(address);
    if (domain !== undefined && domain !== this.domain) {
      throw new BmnError("UNROUTABLE", `no route from domain ${this.domain} to domain ${domain}`, {
        field: "to",
      });
    }
    return name;
  }

  async send(
    message: Message,
    options: { tx?: string | undefined; actor?: string | undefined } = {},
  ): Promise<RouteResult> {
    if (message.to !== undefined) {
      const result = await this.store.enqueue(this.localAgent(message.to), message, options);
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
    if (message.to !== undefined) this.localAgent(message.to);
    else if (message.topic === undefined)
      throw new ValidationError("message needs to (an agent address) or topic", { field: "to" });
  }
}
