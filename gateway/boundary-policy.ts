import type { GatewayPolicyConfig } from "../core/config.js";
import type { DeadLetterReason } from "../core/dead-letter.js";
import type { Message } from "../core/envelope.js";

export interface PolicyRefusal {
  reason: Extract<DeadLetterReason, "forbidden" | "too-large">;
  message: string;
}

/**
 * The boundary policy of a domain: which source domains, agents and message types may enter, and how large a
 * message may be. Pure: `check` answers a refusal or undefined (admitted).
 */
export class BoundaryPolicy {
  private readonly domains: Set<string> | undefined;
  private readonly agents: Set<string> | undefined;
  private readonly exactTypes = new Set<string>();
  private readonly typePrefixes: string[] = [];
  private readonly anyType: boolean;

  constructor(private readonly config: GatewayPolicyConfig) {
    this.domains =
      config.allowedSourceDomains === undefined ? undefined : new Set(config.allowedSourceDomains);
    this.agents = config.allowedSourceAgents === undefined ? undefined : new Set(config.allowedSourceAgents);
    this.anyType = config.allowedMessageTypes === undefined;
    for (const type of config.allowedMessageTypes ?? []) {
      if (type.endsWith("*")) this.typePrefixes.push(type.slice(0, -1));
      else this.exactTypes.add(type);
    }
  }

  /**
   * Whether `message`, arriving from peer `peerDomain` and first sent in `originDomain` (the first entry of its
   * hop history), may enter. `sizeBytes` is its serialized size.
   */
  check(
    message: Message,
    originDomain: string,
    peerDomain: string,
    sizeBytes: number,
  ): PolicyRefusal | undefined {
    const max = this.config.maxMessageBytes;
    if (max !== undefined && sizeBytes > max)
      return {
        reason: "too-large",
        message: `message is ${sizeBytes} bytes, over the boundary limit of ${max}`,
      };
    if (this.domains !== undefined) {
      for (const domain of new Set([originDomain, peerDomain])) {
        if (!this.domains.has(domain))
          return { reason: "forbidden", message: `source domain ${domain} may not send into this domain` };
      }
    }
    if (this.agents !== undefined) {
      const from = message.from;
      const name = from?.split("@")[0];
      const qualified =
        from === undefined ? undefined : from.includes("@") ? from : `${from}@${originDomain}`;
      if (
        name === undefined ||
        qualified === undefined ||
        !(this.agents.has(name) || this.agents.has(qualified))
      )
        return {
          reason: "forbidden",
          message: `source agent ${qualified ?? "(no from)"} may not send into this domain`,
        };
    }
    if (
      !this.anyType &&
      !this.exactTypes.has(message.type) &&
      !this.typePrefixes.some((p) => message.type.startsWith(p))
    )
      return { reason: "forbidden", message: `message type ${message.type} may not enter this domain` };
    return undefined;
  }
}
