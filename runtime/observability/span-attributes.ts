import type { Attributes } from "@opentelemetry/api";
import { messagePriority, type Message } from "../../core/envelope.js";
import type { Delivery, NackOptions } from "../../store/store.js";
import type { DeliveryTransport, SendOutcome } from "./message-tracing.js";

/** Span names, fixed: dashboards and tests look for them. */
export const SPAN_NAMES = {
  send: "bmn.send",
  deliver: "bmn.deliver",
  ack: "bmn.ack",
  nack: "bmn.nack",
} as const;

/** Attributes every message span carries: OpenTelemetry messaging conventions first, then BMN's own. */
function messageAttributes(message: Message, domain: string): Attributes {
  const attributes: Attributes = {
    "messaging.system": "bmn",
    "messaging.message.id": message.id,
    "bmn.message.type": message.type,
    "bmn.domain": domain,
    "bmn.priority": messagePriority(message),
  };
  if (message.to !== undefined) attributes["bmn.to"] = message.to;
  if (message.topic !== undefined) attributes["bmn.topic"] = message.topic;
  if (message.from !== undefined) attributes["bmn.from"] = message.from;
  if (message.correlationid !== undefined)
    attributes["messaging.message.conversation_id"] = message.correlationid;
  return attributes;
}

export function sendAttributes(message: Message, domain: string): Attributes {
  const attributes = messageAttributes(message, domain);
  attributes["messaging.operation.type"] = "send";
  attributes["messaging.operation.name"] = "send";
  const destination = message.to ?? message.topic;
  if (destination !== undefined) attributes["messaging.destination.name"] = destination;
  return attributes;
}

export function sendOutcomeAttributes(outcome: SendOutcome): Attributes {
  const attributes: Attributes = { "bmn.duplicate": outcome.duplicate };
  if (outcome.recipients !== undefined) attributes["bmn.recipients"] = outcome.recipients.length;
  if (outcome.deadLettered !== undefined) attributes["bmn.dead_letter.reason"] = outcome.deadLettered;
  return attributes;
}

export function deliverAttributes(
  agent: string,
  delivery: Delivery,
  domain: string,
  transport: DeliveryTransport,
): Attributes {
  const attributes = messageAttributes(delivery.message, domain);
  attributes["messaging.operation.type"] = "receive";
  attributes["messaging.operation.name"] = "deliver";
  attributes["messaging.destination.name"] = agent;
  attributes["messaging.consumer.group.name"] = agent;
  attributes["bmn.agent"] = agent;
  attributes["bmn.delivery.attempt"] = delivery.attempt;
  attributes["bmn.lease.id"] = delivery.leaseId;
  attributes["bmn.lease.expires_at"] = delivery.leaseExpiresAt;
  attributes["bmn.transport"] = transport;
  return attributes;
}

export function settleAttributes(
  operation: "ack" | "nack",
  leaseId: string,
  domain: string,
  transport: DeliveryTransport,
  delivery: { messageId: string; agent: string; attempt: number } | undefined,
): Attributes {
  const attributes: Attributes = {
    "messaging.system": "bmn",
    "messaging.operation.type": "settle",
    "messaging.operation.name": operation,
    "bmn.domain": domain,
    "bmn.lease.id": leaseId,
    "bmn.transport": transport,
  };
  if (delivery !== undefined) {
    attributes["messaging.message.id"] = delivery.messageId;
    attributes["messaging.destination.name"] = delivery.agent;
    attributes["bmn.agent"] = delivery.agent;
    attributes["bmn.delivery.attempt"] = delivery.attempt;
  }
  return attributes;
}

export function nackAttributes(options: NackOptions): Attributes {
  const attributes: Attributes = {};
  if (options.reason !== undefined) attributes["bmn.nack.reason"] = options.reason;
  if (options.delayMs !== undefined) attributes["bmn.nack.delay_ms"] = options.delayMs;
  if (options.deadLetter !== undefined) attributes["bmn.nack.dead_letter"] = options.deadLetter;
  return attributes;
}
