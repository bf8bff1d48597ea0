import type { QueueStore } from "./roles/queues.js";

/**
 * The age in ms, from its `time` attribute, of the message at the head of a queue's ready line: the next one
 * delivered, so the oldest of the highest priority waiting. Undefined when nothing is ready or the head has no
 * readable time; a `time` in the future counts as 0. One browse of one message: cheap enough for every scrape.
 */
export async function readyHeadAgeMs(
  store: Pick<QueueStore, "browseQueue">,
  queue: string,
  now = Date.now(),
): Promise<number | undefined> {
  const page = await store.browseQueue(queue, { state: "ready", limit: 1 });
  const sent = Date.parse(page.messages[0]?.message.time ?? "");
  return Number.isFinite(sent) ? Math.max(0, now - sent) : undefined;
}
