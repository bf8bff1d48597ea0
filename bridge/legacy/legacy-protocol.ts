/**
 * The legacy Beast Mode wire formats (docs/bridges.md, BRIEF "Legacy Beast Mode"): the pub/sub JSON on the
 * channel `beast_mode_network`, the mailbox stream entries and the presence keys. Parsing trusts nothing: every
 * field is checked, and what does not fit is a `LegacyRejection` that the bridge counts and dead-letters.
 */
import { MESSAGE_ID_PATTERN } from "../../core/ids.js";
import { bmnPriorityToLegacy, legacyPriorityToBmn } from "../../core/legacy-priority.js";
import { DNS_LABEL, DNS_LABEL_MAX } from "../../core/names.js";

export const LEGACY_CHANNEL = "beast_mode_network";
export const PRESENCE_PREFIX = "beast:agents:";
export const PRESENCE_SET = "beast:agents:all";
export const DEFAULT_MAILBOX_PREFIX = "beast:mailbox";
/** Agents announce every 30 s and count as offline 5 minutes after their last announcement. */
export const ANNOUNCE_INTERVAL_MS = 30_000;
export const OFFLINE_AFTER_MS = 5 * 60_000;
export const DISCOVERY_TYPE = "agent_discovery";
/** The legacy priority when a message carries none: the middle of 1-10, as the old CLI sent. */
export const DEFAULT_LEGACY_PRIORITY = 5;

/** The types today's agents send; others pass through as `beast.<type>` and are counted as unknown. */
export const KNOWN_LEGACY_TYPES: ReadonlySet<string> = new Set([
  "simple_message",
  "agent_discovery",
  "help_wanted",
  "help_response",
  "technical_exchange",
  "system_health",
  "agent_response",
  "status_update",
  "collaboration_request",
]);

/** A type must be usable as one topic segment (`legacy.<type>`) and in a CloudEvents type. */
const LEGACY_TYPE = /^[A-Za-z0-9_-]{1,64}$/;
const MAX_NAME_CHARS = 256;

export interface LegacyMessage {
  type: string;
  source: string;
  /** null: a broadcast. */
  target: string | null;
  payload: unknown;
  /** Epoch ms. */
  timestamp: number;
  /** 1-10. */
  priority: number;
  id: string;
}

export interface LegacyRejection {
  reason: "invalid";
  detail: string;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; rejection: LegacyRejection };

const reject = (detail: string): { ok: false; rejection: LegacyRejection } => ({
  ok: false,
  rejection: { reason: "invalid", detail },
});

/** Parses one message of the pub/sub channel. */
export function parseChannelMessage(text: string): Parsed<LegacyMessage> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return reject(`malformed JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return reject("not a JSON object");
  const fields = raw as Record<string, unknown>;
  const type = checkType(fields.type);
  if (typeof type !== "string") return type;
  const source = checkName(fields.source, "source");
  if (typeof source !== "string") return source;
  let target: string | null = null;
  if (fields.target !== null && fields.target !== undefined) {
    const checked = checkName(fields.target, "target");
    if (typeof checked !== "string") return checked;
    target = checked;
  }
  const id = checkName(fields.id, "id");
  if (typeof id !== "string") return id;
  const priority = fields.priority ?? DEFAULT_LEGACY_PRIORITY;
  if (typeof priority !== "number" || !Number.isInteger(priority) || priority < 1 || priority > 10)
    return reject(`priority must be an integer from 1 to 10, got ${JSON.stringify(priority)}`);
  const timestamp = parseTimestamp(fields.timestamp);
  if (timestamp === undefined)
    return reject(
      `timestamp must be an ISO date-time or epoch seconds, got ${JSON.stringify(fields.timestamp)}`,
    );
  return {
    ok: true,
    value: { type, source, target, payload: fields.payload ?? null, timestamp, priority, id },
  };
}

/** The fields of a mailbox stream entry (`XADD beast:mailbox:<agent>:in * message_id ... `). */
export interface MailboxEntry {
  message_id: string;
  sender: string;
  recipient: string;
  /** JSON text. */
  payload: string;
  message_type: string;
  timestamp: string;
}

/** Parses a stream entry's flat field list into a legacy message addressed to `recipient`. */
export function parseMailboxEntry(fieldList: readonly string[]): Parsed<LegacyMessage> {
  const fields = new Map<string, string>();
  for (let i = 0; i + 1 < fieldList.length; i += 2) fields.set(fieldList[i] ?? "", fieldList[i + 1] ?? "");
  const type = checkType(fields.get("message_type"));
  if (typeof type !== "string") return type;
  const id = checkName(fields.get("message_id"), "message_id");
  if (typeof id !== "string") return id;
  const source = checkName(fields.get("sender"), "sender");
  if (typeof source !== "string") return source;
  const target = checkName(fields.get("recipient"), "recipient");
  if (typeof target !== "string") return target;
  let payload: unknown = null;
  const payloadText = fields.get("payload");
  if (payloadText !== undefined) {
    try {
      payload = JSON.parse(payloadText);
    } catch (error) {
      return reject(`payload is not JSON: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  const timestamp = parseTimestamp(fields.get("timestamp"));
  if (timestamp === undefined)
    return reject(
      `timestamp must be an ISO date-time or epoch seconds, got ${JSON.stringify(fields.get("timestamp"))}`,
    );
  const priority = Number(fields.get("priority") ?? DEFAULT_LEGACY_PRIORITY);
  return {
    ok: true,
    value: {
      type,
      source,
      target,
      payload,
      timestamp,
      priority:
        Number.isInteger(priority) && priority >= 1 && priority <= 10 ? priority : DEFAULT_LEGACY_PRIORITY,
      id,
    },
  };
}

/** The stream fields of a message for a legacy mailbox, in the legacy order. */
export function mailboxFields(message: LegacyMessage): string[] {
  return [
    ...["message_id", message.id, "sender", message.source],
    ...["recipient", message.target ?? "", "payload", JSON.stringify(message.payload)],
    ...["message_type", message.type, "timestamp", new Date(message.timestamp).toISOString()],
    ...["priority", String(message.priority)],
  ];
}

/** The channel JSON of a message, compact, with exactly the legacy fields. */
export function channelJson(message: LegacyMessage): string {
  return JSON.stringify({
    type: message.type,
    source: message.source,
    target: message.target,
    payload: message.payload,
    timestamp: new Date(message.timestamp).toISOString(),
    priority: message.priority,
    id: message.id,
  });
}

export const mailboxStream = (prefix: string, agent: string): string => `${prefix}:${agent}:in`;
export const mailboxGroup = (agent: string): string => `${agent}:group`;

/** The presence value `beast:agents:<agent>` holds. */
export interface PresenceRecord {
  agent_id: string;
  capabilities: string[];
  registered_at: string;
  state: string;
}

/** Parses a presence key's value; capabilities that are not strings are dropped. */
export function parsePresence(text: string): Parsed<PresenceRecord> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    return reject(`malformed presence JSON: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw))
    return reject("presence is not a JSON object");
  const fields = raw as Record<string, unknown>;
  const agent = checkName(fields.agent_id, "agent_id");
  if (typeof agent !== "string") return agent;
  return {
    ok: true,
    value: {
      agent_id: agent,
      capabilities: capabilitiesOf(fields.capabilities),
      registered_at: typeof fields.registered_at === "string" ? fields.registered_at : "",
      state: typeof fields.state === "string" ? fields.state : "active",
    },
  };
}

/** Capabilities from a discovery payload or presence value: a list of strings, or an object's keys. */
export function capabilitiesOf(value: unknown): string[] {
  const list = Array.isArray(value)
    ? value
    : typeof value === "object" && value !== null
      ? "capabilities" in value
        ? capabilitiesOf(value.capabilities)
        : Object.keys(value)
      : [];
  return list
    .filter((item): item is string => typeof item === "string" && /^[A-Za-z0-9_.:-]{1,64}$/.test(item))
    .slice(0, 64);
}

/**
 * The BMN agent name of a legacy agent id: lowercased, other characters turned into '-', trimmed to a DNS label.
 * Undefined when nothing usable is left. `Claude_Agent_1` becomes `claude-agent-1`.
 */
export function bmnNameOf(legacyId: string): string | undefined {
  const name = legacyId
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+/, "")
    .slice(0, DNS_LABEL_MAX)
    .replace(/-+$/, "");
  return DNS_LABEL.test(name) ? name : undefined;
}

/** A legacy id that is also a BMN message id is kept as the id; other ids go to `dedupekey` (as `legacy-<id>`). */
export function isBmnMessageId(id: string): boolean {
  return MESSAGE_ID_PATTERN.test(id);
}

export const LEGACY_TYPE_PREFIX = "beast.";

/** `status_update` → `beast.status_update`. */
export const cloudEventType = (legacyType: string): string => `${LEGACY_TYPE_PREFIX}${legacyType}`;

/** `beast.status_update` → `status_update`; another CloudEvents type becomes a legacy type where it can. */
export function legacyTypeOf(cloudEventsType: string): string {
  const bare = cloudEventsType.startsWith(LEGACY_TYPE_PREFIX)
    ? cloudEventsType.slice(LEGACY_TYPE_PREFIX.length)
    : cloudEventsType;
  const legacy = bare.replace(/[^A-Za-z0-9_-]+/g, "_").slice(0, 64);
  return legacy === "" ? "simple_message" : legacy;
}

export { bmnPriorityToLegacy, legacyPriorityToBmn };

function checkType(value: unknown): string | { ok: false; rejection: LegacyRejection } {
  if (typeof value !== "string" || !LEGACY_TYPE.test(value))
    return reject(
      `type must be 1-64 letters, digits, '_' or '-', got ${JSON.stringify(value ?? null).slice(0, 80)}`,
    );
  return value;
}

function checkName(value: unknown, field: string): string | { ok: false; rejection: LegacyRejection } {
  if (
    typeof value !== "string" ||
    value.length === 0 ||
    value.length > MAX_NAME_CHARS ||
    /[\p{Cc}]/u.test(value)
  )
    return reject(`${field} must be a non-empty string of at most ${MAX_NAME_CHARS} characters`);
  return value;
}

/** ISO 8601 text, or epoch seconds (Python's time.time()) or milliseconds as a number or numeric text. */
function parseTimestamp(value: unknown): number | undefined {
  if (value === undefined || value === null || value === "") return Date.now();
  if (typeof value === "number" || (typeof value === "string" && /^\d+(\.\d+)?$/.test(value))) {
    const number = Number(value);
    if (!Number.isFinite(number) || number < 0) return undefined;
    return number < 1e11 ? Math.round(number * 1000) : Math.round(number);
  }
  if (typeof value !== "string") return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
