import type { Message } from "../../core/envelope.js";

/** A message handed to a consumer, with whatever the queue needs to settle it. */
export interface Received {
  messageId: string;
  ack(): Promise<void>;
}

/**
 * The one shape both sides of a comparison are driven through, so the loop that measures them is identical
 * and only the queue differs.
 */
export interface BenchQueue {
  readonly label: string;
  enqueue(message: Message): Promise<void>;
  /** Takes at most one message without blocking; undefined when none is ready. */
  receiveOne(): Promise<Received | undefined>;
  /** Resolves once every write this queue issued has reached Redis (the store sends traces without waiting). */
  drain(): Promise<void>;
  close(): Promise<void>;
}
