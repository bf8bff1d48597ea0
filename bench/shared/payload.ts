import { createMessage, type Message } from "../../core/envelope.js";
import { newMessageId } from "../../core/ids.js";

/** Target size of the `data` payload in bytes (serialized JSON). */
export const PAYLOAD_BYTES = 1024;

/**
 * An agent-like payload (a task with a short chat history and tool hints), padded to exactly
 * PAYLOAD_BYTES of JSON so every benchmark moves the same bytes.
 */
export function agentPayload(): Record<string, unknown> {
  const payload = {
    task: "summarize-ticket",
    conversationId: "conv-7f3a9c2e-5b1d-4e8f-a6c0-2d9b8e1f4a37",
    step: 3,
    model: { name: "agent-large", temperature: 0.2, maxTokens: 512 },
    tools: ["search_tickets", "fetch_customer", "post_reply"],
    messages: [
      {
        role: "system",
        content: "You are a support agent. Answer briefly and cite the ticket ids you used.",
      },
      { role: "user", content: "" },
    ],
    metadata: { tenant: "acme", priority: "normal", retries: 0 },
  };
  const base = Buffer.byteLength(JSON.stringify(payload));
  const user = payload.messages[1];
  if (user === undefined || base > PAYLOAD_BYTES)
    throw new Error("payload skeleton is larger than the target");
  user.content = "Customer reports that exports time out after the upgrade. "
    .repeat(20)
    .slice(0, PAYLOAD_BYTES - base);
  return payload;
}

/** One validated message, then cheap copies with fresh ids (a full zod validation per message would dominate). */
export function messageFactory(): () => Message {
  const template = createMessage({ type: "bench.task", data: agentPayload() });
  return () => ({ ...template, id: newMessageId(), time: new Date().toISOString() });
}

export function payloadBytes(message: Message): number {
  return Buffer.byteLength(JSON.stringify(message.data));
}

export function serializedBytes(message: Message): number {
  return Buffer.byteLength(JSON.stringify(message));
}
