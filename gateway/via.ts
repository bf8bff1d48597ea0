import type { Message } from "../core/envelope.js";

/** The CloudEvents extension holding the domains a message has left, in order (comma-separated). */
export const VIA_ATTRIBUTE = "bmnvia";

/** The domains `message` has left so far, oldest first. */
export function viaOf(message: Message): string[] {
  const value = message[VIA_ATTRIBUTE];
  if (typeof value !== "string" || value === "") return [];
  return value
    .split(",")
    .map((domain) => domain.trim())
    .filter((domain) => domain !== "");
}

/** `message` as it leaves `domain`: the same message (same id) with `domain` appended to `bmnvia`. */
export function withVia(message: Message, domain: string): Message {
  return { ...message, [VIA_ATTRIBUTE]: [...viaOf(message), domain].join(",") };
}

/**
 * Why a message arriving at `ownDomain` must not go further, or undefined: it has been here before (a loop), or
 * it has made more than `maxHops` hops.
 */
export function loopCheck(via: readonly string[], ownDomain: string, maxHops: number): string | undefined {
  if (via.includes(ownDomain))
    return `loop: the message already left domain ${ownDomain} (via ${via.join(",")})`;
  if (via.length > maxHops) return `hop limit: ${via.length} hops is over the limit of ${maxHops}`;
  return undefined;
}
