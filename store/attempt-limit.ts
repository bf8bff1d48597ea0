import { isOutboxQueue, type QueueName } from "../core/names.js";
import type { DeliveryPolicy } from "./store.js";

/**
 * The number of delivery attempts after which a queue's message is dead-lettered `max-attempts`, or 0 for none.
 * Outbox queues (`bmn.out.<domain>`) have no store limit: a gateway lease is not a delivery, and the gateway's own
 * `retry.maxForwardAttempts` (which reads the attempt count the store keeps counting) and the message's TTL
 * decide when forwarding gives up. Otherwise a message whose gateway crashed `maxAttempts` times while holding
 * it would be dead-lettered although the link never refused it.
 */
export function attemptLimitOf(queue: QueueName, policy: Pick<DeliveryPolicy, "maxAttempts">): number {
  return isOutboxQueue(queue) ? 0 : policy.maxAttempts;
}

/** Whether a message of `queue` that has had `attempts` attempts has used them all up. */
export function attemptsExhausted(
  queue: QueueName,
  attempts: number,
  policy: Pick<DeliveryPolicy, "maxAttempts">,
): boolean {
  const limit = attemptLimitOf(queue, policy);
  return limit > 0 && attempts >= limit;
}
