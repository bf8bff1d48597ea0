import type { BmnClient, DeadLetterReason, Delivery } from "../../client/index.js";
import { isDeadLetterReason } from "../../core/dead-letter.js";
import type { BridgeMetrics } from "./bridge-metrics.js";

/** The CloudEvents type of a bad input parked on the bridge's own queue until it is dead-lettered. */
export const BRIDGE_REJECT_TYPE = "network.beastmode.bridge.rejected";
/** Inputs are kept in the dead letter up to this many characters, so one huge bad input cannot flood the DLQ. */
const MAX_KEPT_INPUT_CHARS = 64 * 1024;

export interface Rejection {
  reason: DeadLetterReason;
  /** What was wrong, naming the field: it becomes the dead letter's `lastError`. */
  detail: string;
}

/**
 * Dead-letters bad input through the sidecar's HTTP API: the input is queued (durably) on the bridge's own agent
 * queue as a `network.beastmode.bridge.rejected` message, and the bridge's receive loop nacks it with
 * `deadLetterReason` when it comes round (`settleRejected`). A crash in between leaves it queued, so it is
 * dead-lettered after the restart: nothing bad is dropped silently. `bmn dlq list --agent <bridge agent>` shows
 * them.
 */
export class DeadLetters {
  constructor(
    private readonly client: BmnClient,
    private readonly agent: string,
    private readonly metrics: BridgeMetrics,
  ) {}

  /** Resolves once the bad input is stored in BMN; the caller may then drop (ack) it at its source. */
  async reject(
    path: string,
    rejection: Rejection,
    input: string,
    context: Record<string, string> = {},
  ): Promise<void> {
    await this.client.send({
      to: this.agent,
      type: BRIDGE_REJECT_TYPE,
      datacontenttype: "application/json",
      data: {
        path,
        reason: rejection.reason,
        detail: rejection.detail,
        input: input.length > MAX_KEPT_INPUT_CHARS ? `${input.slice(0, MAX_KEPT_INPUT_CHARS)}…` : input,
        inputChars: input.length,
        ...context,
      },
    });
    this.metrics.count(path, "dead-lettered");
  }

  /** For the receive loop: true when `delivery` was a parked rejection, now dead-lettered with its reason. */
  async settleRejected(delivery: Delivery): Promise<boolean> {
    if (delivery.message.type !== BRIDGE_REJECT_TYPE) return false;
    const data = (delivery.message.data ?? {}) as { reason?: unknown; detail?: unknown };
    const detail = typeof data.detail === "string" ? data.detail : "rejected by the bridge";
    await this.client.nack(delivery.leaseId, {
      deadLetterReason: isDeadLetterReason(data.reason) ? data.reason : "invalid",
      reason: detail.slice(0, 1_000),
    });
    return true;
  }
}
