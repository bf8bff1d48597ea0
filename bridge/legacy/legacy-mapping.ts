/**
 * Legacy message ↔ BMN CloudEvent. Priorities map 1-10 ↔ 0-9, types `t` ↔ `beast.t`, and the legacy id travels
 * both ways (as the BMN id when it is a valid one, always as the `legacyid` extension), so BMN's dedupe catches
 * a message that is bridged twice and the bridge recognises what it sent itself.
 */
import type { Message, MessageInput } from "../../client/index.js";
import {
  bmnPriorityToLegacy,
  cloudEventType,
  isBmnMessageId,
  legacyPriorityToBmn,
  legacyTypeOf,
  type LegacyMessage,
} from "./legacy-protocol.js";

/** Set on every message that came from the legacy network; the bridge never sends such a message back. */
export const LEGACY_ID_EXTENSION = "legacyid";
/** The legacy agent id as it was written, when the BMN name had to be derived from it. */
export const LEGACY_SOURCE_EXTENSION = "legacysource";

export type BmnDestination = { to: string } | { topic: string };

/** The BMN message for a legacy one; `from` is the sender's BMN name. */
export function legacyToBmn(legacy: LegacyMessage, from: string, destination: BmnDestination): MessageInput {
  return {
    ...(isBmnMessageId(legacy.id) ? { id: legacy.id } : { dedupekey: `legacy-${legacy.id}` }),
    type: cloudEventType(legacy.type),
    source: `beast-mode-legacy/${from}`,
    from,
    ...destination,
    priority: legacyPriorityToBmn(legacy.priority),
    time: new Date(legacy.timestamp).toISOString(),
    datacontenttype: "application/json",
    data: legacy.payload,
    [LEGACY_ID_EXTENSION]: legacy.id,
    ...(from === legacy.source ? {} : { [LEGACY_SOURCE_EXTENSION]: legacy.source }),
  };
}

/** True when `message` came from the legacy network through a bridge. */
export function cameFromLegacy(message: Message): boolean {
  return typeof (message as Record<string, unknown>)[LEGACY_ID_EXTENSION] === "string";
}

/** The legacy message for a BMN one, to `target` (null: a broadcast), from `source`. */
export function bmnToLegacy(message: Message, source: string, target: string | null): LegacyMessage {
  const time = message.time === undefined ? Number.NaN : Date.parse(message.time);
  return {
    type: legacyTypeOf(message.type),
    source,
    target,
    payload: "data" in message ? (message.data ?? null) : null,
    timestamp: Number.isNaN(time) ? Date.now() : time,
    priority: bmnPriorityToLegacy(message.priority ?? 4),
    id: message.id,
  };
}
