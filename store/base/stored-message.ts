import type { Message } from "../../core/envelope.js";

/** Stored messages were validated when they were accepted; re-validating each delivery would only cost time. */
export function storedMessage(json: string): Message {
  return JSON.parse(json) as Message;
}
