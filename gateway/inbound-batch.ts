import { toMessage, serializeMessage, timeOf, type Message } from "../core/envelope.js";
import { TooLargeError } from "../core/errors.js";
import { domainNameSchema, outboxQueueName, splitAddress } from "../core/names.js";
import type { GatewayContext } from "./gateway-context.js";
import type { BatchResult } from "../core/api/gateway-api.js";
import type { SendResult } from "../store/store.js";
import { VIA_ATTRIBUTE, loopCheck, viaOf } from "./via.js";

type Decision =
  | { kind: "refuse"; result: BatchResult }
  | { kind: "enqueue"; queue: string; message: Message; local: boolean };

/**
 * Stores one batch a peer sent: every message is checked on its own (valid, not looping, admitted by the boundary
 * policy, routable), then every admitted one is enqueued, all in one atomic store call (`enqueueMany`): to its
 * agent when it is addressed to this domain, to the outbox of its destination otherwise (multi-hop). Resolves once
 * the messages are durable in the store; a store failure rejects the whole batch and stores none of it (the peer
 * resends; dedupe by id keeps any that were stored before from entering twice).
 */
export async function storeBatch(
  context: GatewayContext,
  peerDomain: string,
  messages: readonly unknown[],
): Promise<BatchResult[]> {
  const decisions = messages.map((raw) => decide(context, peerDomain, raw));
  const admitted = decisions.filter((decision) => decision.kind === "enqueue");
  // Spans only when tracing: a sampled message is stamped with its own span's context, the rest pass unchanged.
  const traced = context.tracing.receiveBatch(
    admitted.map((decision) => decision.message),
    peerDomain,
  );
  let stored: SendResult[];
  try {
    stored = await context.store.enqueueMany(
      admitted.map((decision, index) => ({
        queue: decision.queue,
        message: traced.messages[index] ?? decision.message,
      })),
      { actor: context.actor },
    );
  } catch (error) {
    traced.end("failed", error instanceof Error ? error.message : String(error));
    throw error;
  }
  const statuses = admitted.map((_, index): BatchResult["status"] =>
    stored[index]?.duplicate === true ? "duplicate" : "accepted",
  );
  traced.end(statuses);
  const statusOf = new Map<Decision, BatchResult["status"]>();
  admitted.forEach((decision, index) => statusOf.set(decision, statuses[index] ?? "accepted"));
  const outcomes = decisions.map((decision): BatchResult => {
    if (decision.kind === "refuse") return decision.result;
    return { id: decision.message.id, status: statusOf.get(decision) ?? "accepted" };
  });
  for (const outcome of outcomes) context.metrics.received.inc({ peer: peerDomain, status: outcome.status });
  return outcomes;
}

function refuse(id: string, reason: NonNullable<BatchResult["reason"]>, message: string): Decision {
  return { kind: "refuse", result: { id, status: "refused", reason, message } };
}

function decide(context: GatewayContext, peerDomain: string, raw: unknown): Decision {
  const rawId =
    typeof raw === "object" && raw !== null && typeof (raw as { id?: unknown }).id === "string"
      ? (raw as { id: string }).id
      : "";
  let message: Message;
  try {
    // No size limit here: the size is measured once below, for both the store's limit and the policy's.
    message = toMessage(raw, { maxBytes: Number.POSITIVE_INFINITY });
  } catch (error) {
    return refuse(rawId, "invalid", error instanceof Error ? error.message : "invalid message");
  }
  const size = Buffer.byteLength(serializeMessage(message));
  const { maxMessageBytes } = context.sidecar.limits;
  if (size > maxMessageBytes)
    return refuse(message.id, "too-large", new TooLargeError(size, maxMessageBytes).message);
  const via = viaOf(message);
  const loop = loopCheck(via, context.domain, context.config.maxHops);
  if (loop !== undefined) return refuse(message.id, "unroutable", loop);
  const expiresAt = timeOf(message.expiresat);
  if (expiresAt !== undefined && expiresAt <= Date.now())
    return refuse(message.id, "expired", `message expired at ${message.expiresat ?? ""}`);
  const identity = originOf(context, peerDomain, message, via);
  if (typeof identity !== "string") return refuse(message.id, identity.reason, identity.message);
  const origin = identity;
  const refusal = context.policy.check(message, origin, peerDomain, size);
  if (refusal !== undefined)
    return refuse(message.id, refusal.reason, `domain ${context.domain}: ${refusal.message}`);
  if (message.to === undefined)
    return refuse(
      message.id,
      "unroutable",
      "only messages addressed to an agent (to: name@domain) cross domains",
    );
  const { name, domain } = splitAddress(message.to);
  if (domain === undefined)
    return refuse(
      message.id,
      "unroutable",
      `to ${message.to} names no domain; a cross-domain address is name@domain`,
    );
  if (domain === context.domain) return { kind: "enqueue", queue: name, message, local: true };
  if (context.routing.nextHop(domain) === undefined && !context.routing.wasKnown(domain))
    return refuse(message.id, "unroutable", `domain ${context.domain} has no route to domain ${domain}`);
  return { kind: "enqueue", queue: outboxQueueName(domain), message, local: false };
}

/**
 * The origin domain of a message handed in by the authenticated peer `peerDomain`, or why it is refused. Its hop
 * history (`bmnvia`, written by the sender, so not trusted as such) must list domain names and end with that peer
 * (the peer appends itself when it forwards); the origin, the first domain, must be one the link lets that peer
 * inject; and a domain in `from` must be the origin. So a peer cannot pass a message off as another domain's.
 */
function originOf(
  context: GatewayContext,
  peerDomain: string,
  message: Message,
  via: readonly string[],
): string | { reason: "invalid" | "forbidden"; message: string } {
  const hops = via.length === 0 ? [peerDomain] : via;
  if (!hops.every((domain) => domainNameSchema.safeParse(domain).success))
    return { reason: "invalid", message: `${VIA_ATTRIBUTE} must list domain names` };
  if (hops.at(-1) !== peerDomain)
    return {
      reason: "forbidden",
      message: `domain ${context.domain}: the hop history must end with the sending peer ${peerDomain}`,
    };
  const origin = hops[0] ?? peerDomain;
  const trust = context.trust.get(peerDomain);
  if (trust?.origins.allows(origin) !== true)
    return {
      reason: "forbidden",
      message: `domain ${context.domain}: peer ${peerDomain} may not hand in messages from domain ${origin} (allowed: ${trust?.origins.description ?? "none"})`,
    };
  const fromDomain = message.from?.split("@")[1];
  if (fromDomain !== undefined && fromDomain !== origin)
    return {
      reason: "forbidden",
      message: `domain ${context.domain}: from ${message.from ?? ""} names domain ${fromDomain}, but the message comes from domain ${origin}`,
    };
  return origin;
}
