/**
 * Kafka record ↔ CloudEvent, following the CloudEvents Kafka protocol binding. Outgoing records use binary mode:
 * every attribute is a `ce_<name>` header, `content-type` carries datacontenttype, the value is the data, and the
 * key is the message id (so a compacted topic or a downstream consumer can dedupe on it). Incoming records may
 * be binary or structured (`content-type: application/cloudevents+json`). A record without a `ce_id` gets the
 * dedupe key `kafka-<topic>-<partition>-<offset>`, so a record consumed twice is stored once either way.
 */
import type { DeadLetterReason, Message, MessageInput } from "../../client/index.js";
import { MESSAGE_ID_PATTERN } from "../../core/ids.js";
import type { Mapped } from "../common/broker-bridge.js";
import type { Rejection } from "../common/dead-letters.js";

export interface KafkaRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | undefined;
  value: Buffer | undefined;
  headers: Map<Buffer, Buffer>;
  timestamp: bigint;
}

export interface KafkaOut {
  key: Buffer;
  value: Buffer;
  headers: Map<string, string>;
}

const CE_PREFIX = "ce_";
const ATTRIBUTE_NAME = /^[a-z0-9]{1,20}$/;
const STRUCTURED = /^application\/cloudevents\+json\b/i;
const DEFAULT_TYPE = "kafka.record";

/** The BMN message for a Kafka record. */
export function kafkaToBmn(
  record: KafkaRecord,
  destination: { to: string } | { topic: string },
  maxBytes: number,
): Mapped {
  const value = record.value ?? Buffer.alloc(0);
  if (value.length > maxBytes)
    return reject("too-large", `value is ${value.length} bytes, above the ${maxBytes} the bridge takes`);
  const headers = new Map<string, string>();
  for (const [rawKey, rawValue] of record.headers) {
    const key = decodeUtf8(rawKey);
    const text = decodeUtf8(rawValue);
    if (key === undefined || text === undefined)
      return reject(
        "invalid",
        `header ${JSON.stringify(rawKey.toString("latin1").slice(0, 40))} is not UTF-8`,
      );
    headers.set(key.toLowerCase(), text);
  }
  const contentType = headers.get("content-type");
  const coordinates = `kafka-${record.topic}-${record.partition}-${record.offset}`;
  let attributes: Record<string, unknown>;
  if (contentType !== undefined && STRUCTURED.test(contentType)) {
    try {
      const event: unknown = JSON.parse(value.toString("utf8"));
      if (typeof event !== "object" || event === null || Array.isArray(event))
        return reject("invalid", "a structured CloudEvent must be a JSON object");
      attributes = event as Record<string, unknown>;
    } catch (error) {
      return reject("invalid", `structured CloudEvent is not JSON: ${(error as Error).message}`);
    }
  } else {
    attributes = {};
    for (const [key, text] of headers) {
      if (!key.startsWith(CE_PREFIX)) continue;
      const name = key.slice(CE_PREFIX.length);
      if (!ATTRIBUTE_NAME.test(name))
        return reject(
          "invalid",
          `header ${key}: ${JSON.stringify(name)} is not a CloudEvents attribute name`,
        );
      attributes[name] = text;
    }
    const data = bodyData(value, contentType);
    if (!data.ok) return data;
    Object.assign(attributes, data.value, contentType === undefined ? {} : { datacontenttype: contentType });
  }
  if (attributes.specversion !== undefined && attributes.specversion !== "1.0")
    return reject("invalid", `ce_specversion must be 1.0, got ${JSON.stringify(attributes.specversion)}`);
  let priority: number | undefined;
  if (attributes.priority !== undefined) {
    priority = Number(attributes.priority);
    if (!Number.isInteger(priority) || priority < 0 || priority > 9)
      return reject(
        "invalid",
        `ce_priority must be an integer 0-9, got ${JSON.stringify(attributes.priority)}`,
      );
  }
  const id = typeof attributes.id === "string" ? attributes.id : undefined;
  const input: Record<string, unknown> = {
    ...attributes,
    specversion: undefined,
    id: id !== undefined && MESSAGE_ID_PATTERN.test(id) ? id : undefined,
    dedupekey:
      id === undefined ? coordinates : MESSAGE_ID_PATTERN.test(id) ? attributes.dedupekey : `kafka-${id}`,
    type: typeof attributes.type === "string" ? attributes.type : DEFAULT_TYPE,
    source: typeof attributes.source === "string" ? attributes.source : `kafka/${record.topic}`,
    time:
      typeof attributes.time === "string"
        ? attributes.time
        : new Date(Number(record.timestamp)).toISOString(),
    priority,
    to: undefined,
    topic: undefined,
    // Who sent it is the bridge, never a name a broker producer wrote: no impersonating a BMN agent or a domain.
    from: undefined,
    bmnvia: undefined,
    ...destination,
  };
  return {
    ok: true,
    value: Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined)) as MessageInput,
  };
}

/** The binary-mode Kafka record for a BMN message. */
export function bmnToKafka(message: Message): KafkaOut {
  const headers = new Map<string, string>();
  for (const [key, value] of Object.entries(message as Record<string, unknown>)) {
    if (key === "data" || key === "data_base64" || key === "datacontenttype") continue;
    if (typeof value === "string" || typeof value === "number")
      headers.set(`${CE_PREFIX}${key}`, String(value));
  }
  const contentType = message.datacontenttype ?? "application/json";
  headers.set("content-type", contentType);
  let value: Buffer;
  if (typeof message.data_base64 === "string") value = Buffer.from(message.data_base64, "base64");
  else if (typeof message.data === "string" && !/json/i.test(contentType))
    value = Buffer.from(message.data, "utf8");
  else value = Buffer.from(JSON.stringify(message.data ?? null), "utf8");
  return { key: Buffer.from(message.id, "utf8"), value, headers };
}

function bodyData(
  value: Buffer,
  contentType: string | undefined,
): { ok: true; value: { data?: unknown; data_base64?: string } } | { ok: false; rejection: Rejection } {
  if (contentType !== undefined && /^application\/([\w.-]+\+)?json\b/i.test(contentType)) {
    try {
      return { ok: true, value: { data: JSON.parse(value.toString("utf8")) as unknown } };
    } catch (error) {
      return reject("invalid", `value is not the JSON its content-type says: ${(error as Error).message}`);
    }
  }
  const text = decodeUtf8(value);
  return { ok: true, value: text === undefined ? { data_base64: value.toString("base64") } : { data: text } };
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return decoder.decode(bytes);
  } catch {
    return undefined;
  }
}

function reject(reason: DeadLetterReason, detail: string): { ok: false; rejection: Rejection } {
  return { ok: false, rejection: { reason, detail } };
}
