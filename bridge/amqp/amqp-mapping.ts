/**
 * AMQP 0-9-1 message ↔ CloudEvent, in binary mode: the body is the event's data, the basic properties carry what
 * they can (message-id ↔ id, type ↔ type, content-type ↔ datacontenttype, timestamp ↔ time, priority,
 * correlation-id, reply-to), and every other attribute travels as a `cloudEvents:<name>` header (the prefix of
 * the CloudEvents AMQP binding; `cloudEvents_<name>` is read too). `x-death` becomes `amqpdeath*` extensions,
 * and its reason the BMN dead-letter reason where the message goes to the DLQ.
 */
import type { DeadLetterReason, Message, MessageInput } from "../../client/index.js";
import { MESSAGE_ID_PATTERN } from "../../core/ids.js";
import type { Mapped } from "../common/broker-bridge.js";
import type { Rejection } from "../common/dead-letters.js";

/** The part of an amqplib message the mapping reads. */
export interface AmqpMessage {
  content: Buffer;
  properties: {
    contentType?: unknown;
    headers?: Record<string, unknown> | undefined;
    priority?: unknown;
    correlationId?: unknown;
    replyTo?: unknown;
    messageId?: unknown;
    timestamp?: unknown;
    type?: unknown;
  };
}

/** What amqplib's publish takes (the subset BMN sets). */
export interface AmqpPublish {
  content: Buffer;
  options: {
    messageId: string;
    type: string;
    contentType: string;
    timestamp: number;
    priority?: number;
    correlationId?: string;
    replyTo?: string;
    persistent: true;
    mandatory: true;
    appId: string;
    headers: Record<string, string | number>;
  };
}

export const CE_HEADER_PREFIX = "cloudEvents:";
const CE_HEADER_PREFIXES = [CE_HEADER_PREFIX, "cloudEvents_"];
const EXTENSION_NAME = /^[a-z0-9]{1,20}$/;
/** Attributes that sit in the basic properties, so they are not repeated as headers. */
const IN_PROPERTIES = new Set([
  "id",
  "type",
  "datacontenttype",
  "time",
  "priority",
  "correlationid",
  "replyto",
]);
const DEFAULT_TYPE = "amqp.message";

/** RabbitMQ's `x-death` reasons as BMN dead-letter reasons. */
export function deathReason(amqpReason: string): DeadLetterReason {
  switch (amqpReason) {
    case "expired":
      return "expired";
    case "delivery_limit":
      return "max-attempts";
    default:
      return "rejected"; // rejected, maxlen
  }
}

/** The newest entry of `x-death`, if any. */
export function latestDeath(
  headers: Record<string, unknown> | undefined,
): { reason: string; queue: string; exchange: string; count: number } | undefined {
  const deaths = headers?.["x-death"];
  if (!Array.isArray(deaths) || deaths.length === 0) return undefined;
  const first = deaths[0] as Record<string, unknown>;
  return {
    reason: typeof first.reason === "string" ? first.reason : "rejected",
    queue: typeof first.queue === "string" ? first.queue : "",
    exchange: typeof first.exchange === "string" ? first.exchange : "",
    count: typeof first.count === "number" ? first.count : 1,
  };
}

/** The BMN message for an AMQP one consumed from `queue`; a rejection when it cannot be one. */
export function amqpToBmn(
  message: AmqpMessage,
  queue: string,
  destination: { to: string } | { topic: string },
  maxBytes: number,
): Mapped {
  if (message.content.length > maxBytes)
    return reject(
      "too-large",
      `body is ${message.content.length} bytes, above the ${maxBytes} the bridge takes`,
    );
  const props = message.properties;
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(props.headers ?? {})) {
    const prefix = CE_HEADER_PREFIXES.find((p) => key.startsWith(p));
    if (prefix === undefined) continue;
    const name = key.slice(prefix.length);
    if (!EXTENSION_NAME.test(name))
      return reject("invalid", `header ${key}: ${JSON.stringify(name)} is not a CloudEvents attribute name`);
    const text = headerText(value);
    if (text === undefined) return reject("invalid", `header ${key} must be a string or number`);
    attributes[name] = text;
  }
  delete attributes.specversion;
  delete attributes.data;
  delete attributes.data_base64;
  const id = stringOf(attributes.id) ?? stringOf(props.messageId);
  const priorityText = stringOf(attributes.priority) ?? stringOf(props.priority);
  let priority: number | undefined;
  if (priorityText !== undefined) {
    priority = Number(priorityText);
    if (!Number.isInteger(priority) || priority < 0 || priority > 255)
      return reject("invalid", `priority must be an integer 0-9, got ${JSON.stringify(priorityText)}`);
    priority = Math.min(priority, 9);
  }
  const contentType = stringOf(attributes.datacontenttype) ?? stringOf(props.contentType);
  const data = bodyData(message.content, contentType);
  if (!data.ok) return data;
  const time = stringOf(attributes.time) ?? timestampText(props.timestamp);
  const death = latestDeath(props.headers);
  const input: Record<string, unknown> = {
    ...attributes,
    ...(id === undefined ? {} : MESSAGE_ID_PATTERN.test(id) ? { id } : { dedupekey: `amqp-${id}` }),
    type: stringOf(attributes.type) ?? stringOf(props.type) ?? DEFAULT_TYPE,
    source: stringOf(attributes.source) ?? `rabbitmq/${queue}`,
    ...(time === undefined ? {} : { time }),
    ...(priority === undefined ? {} : { priority }),
    ...optional("correlationid", stringOf(attributes.correlationid) ?? stringOf(props.correlationId)),
    ...optional("replyto", stringOf(attributes.replyto) ?? stringOf(props.replyTo)),
    ...(contentType === undefined ? {} : { datacontenttype: contentType }),
    ...data.value,
    ...(death === undefined
      ? {}
      : { amqpdeathreason: death.reason, amqpdeathqueue: death.queue, amqpdeathcount: String(death.count) }),
    to: undefined,
    topic: undefined,
    // Who sent it is the bridge, never a name a broker producer wrote: no impersonating a BMN agent or a domain.
    from: undefined,
    bmnvia: undefined,
    ...destination,
  };
  const defined = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  return { ok: true, value: defined as MessageInput };
}

/** The AMQP message for a BMN one. */
export function bmnToAmqp(message: Message): AmqpPublish {
  const fields = message as Record<string, unknown>;
  const headers: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (key === "data" || key === "data_base64" || IN_PROPERTIES.has(key) || value === undefined) continue;
    if (typeof value === "string" || typeof value === "number") headers[`${CE_HEADER_PREFIX}${key}`] = value;
  }
  // The id and type are in the properties too, but a CloudEvents-aware consumer reads the headers alone.
  headers[`${CE_HEADER_PREFIX}id`] = message.id;
  headers[`${CE_HEADER_PREFIX}type`] = message.type;
  if (message.time !== undefined) headers[`${CE_HEADER_PREFIX}time`] = message.time;
  const contentType = message.datacontenttype ?? "application/json";
  const time = message.time === undefined ? Date.now() : Date.parse(message.time);
  return {
    content: bodyOf(message, contentType),
    options: {
      messageId: message.id,
      type: message.type,
      contentType,
      timestamp: Math.floor((Number.isNaN(time) ? Date.now() : time) / 1000),
      ...(message.priority === undefined ? {} : { priority: message.priority }),
      ...(message.correlationid === undefined ? {} : { correlationId: message.correlationid }),
      ...(message.replyto === undefined ? {} : { replyTo: message.replyto }),
      persistent: true,
      mandatory: true,
      appId: "bmn-bridge",
      headers,
    },
  };
}

function bodyOf(message: Message, contentType: string): Buffer {
  if (typeof message.data_base64 === "string") return Buffer.from(message.data_base64, "base64");
  const data = "data" in message ? message.data : undefined;
  if (typeof data === "string" && !isJson(contentType)) return Buffer.from(data, "utf8");
  return Buffer.from(JSON.stringify(data ?? null), "utf8");
}

function bodyData(
  content: Buffer,
  contentType: string | undefined,
): { ok: true; value: { data?: unknown; data_base64?: string } } | { ok: false; rejection: Rejection } {
  if (contentType !== undefined && isJson(contentType)) {
    try {
      return { ok: true, value: { data: JSON.parse(content.toString("utf8")) as unknown } };
    } catch (error) {
      return reject("invalid", `body is not the JSON its content-type says: ${(error as Error).message}`);
    }
  }
  const text = new TextDecoder("utf-8", { fatal: false }).decode(content);
  const isText =
    contentType?.startsWith("text/") === true || (contentType === undefined && !text.includes("\uFFFD"));
  return { ok: true, value: isText ? { data: text } : { data_base64: content.toString("base64") } };
}

const isJson = (contentType: string): boolean => /^application\/([\w.-]+\+)?json\b/i.test(contentType);

function headerText(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  if (Buffer.isBuffer(value)) return value.toString("utf8");
  return undefined;
}

function stringOf(value: unknown): string | undefined {
  if (typeof value === "string" && value !== "") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  return undefined;
}

function timestampText(value: unknown): string | undefined {
  return typeof value === "number" && Number.isFinite(value) && value > 0
    ? new Date(value * 1000).toISOString()
    : undefined;
}

const optional = (key: string, value: string | undefined): Record<string, string> =>
  value === undefined ? {} : { [key]: value };

function reject(reason: DeadLetterReason, detail: string): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { reason, detail } };
}
