export interface BatchLimits {
  maxMessages: number;
  maxBytes: number;
  maxDelayMs: number;
}

export interface Sized {
  sizeBytes: number;
}

/**
 * Splits the head of `pending` (in order) into the next batch: at most `maxMessages` items and `maxBytes` bytes,
 * but always at least one item, so a message larger than `maxBytes` still travels (alone). Returns the batch and
 * what is left, order kept.
 */
export function takeBatch<T extends Sized>(
  pending: readonly T[],
  limits: BatchLimits,
): { batch: T[]; rest: T[] } {
  let bytes = 0;
  let count = 0;
  for (const item of pending) {
    if (count >= limits.maxMessages) break;
    if (count > 0 && bytes + item.sizeBytes > limits.maxBytes) break;
    bytes += item.sizeBytes;
    count++;
  }
  return { batch: pending.slice(0, count), rest: pending.slice(count) };
}

/** True when `pending` already fills a batch (by count or bytes): send without waiting for more. */
export function isFull(pending: readonly Sized[], limits: BatchLimits): boolean {
  if (pending.length >= limits.maxMessages) return true;
  let bytes = 0;
  for (const item of pending) bytes += item.sizeBytes;
  return bytes >= limits.maxBytes;
}

/**
 * How long to wait for more messages before sending what is pending (adaptive batching). Nothing to wait for when
 * the batch is full, or when the outbox is backed up (the last receive filled what it asked for, or a previous
 * batch was full): under load batches fill by themselves and lingering would only add latency. Otherwise linger
 * up to `maxDelayMs` after the oldest pending message was taken, so a trickle still makes some batches.
 */
export function lingerMs(
  pending: readonly Sized[],
  limits: BatchLimits,
  state: { backedUp: boolean; firstTakenAt: number; now: number },
): number {
  if (pending.length === 0) return 0;
  if (state.backedUp || isFull(pending, limits)) return 0;
  return Math.max(0, state.firstTakenAt + limits.maxDelayMs - state.now);
}
