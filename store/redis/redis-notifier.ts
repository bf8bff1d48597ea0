import type { Cluster, Redis } from "ioredis";
import type { QueueName } from "../../core/names.js";
import { StoreUnavailableError } from "../../core/errors.js";
import { raceTimeout } from "../../core/race-timeout.js";
import { WakeupHub, type Waiter } from "../wakeup-hub.js";
import type { RedisKeys } from "./redis-keys.js";

/**
 * Wakes long-polling receivers when any process makes a message visible: scripts PUBLISH on the agent's
 * channel, and one subscriber connection per store fans that out in-process. Pub/sub can drop a message while
 * reconnecting, so every reconnect wakes all waiters to look again.
 */
export class RedisNotifier {
  private readonly hub = new WakeupHub();
  /** Channels subscribed, with how many waiters use each; the last one to go unsubscribes. */
  private readonly subscribed = new Map<string, ChannelEntry>();

  constructor(
    private readonly subscriber: Redis | Cluster,
    private readonly keys: RedisKeys,
    private readonly timeoutMs: number,
  ) {
    subscriber.on("message", (channel: string) => {
      if (channel.startsWith(keys.notifyPrefix)) this.hub.notify(channel.slice(keys.notifyPrefix.length));
    });
    subscriber.on("ready", () => {
      this.hub.wakeAll();
    });
  }

  async watch(agent: QueueName): Promise<Waiter> {
    const waiter = this.hub.register(agent);
    const channel = this.keys.notifyChannel(agent);
    const entry = this.acquire(channel);
    let open = true;
    const close = (): void => {
      if (!open) return;
      open = false;
      waiter.close();
      this.release(channel, entry);
    };
    try {
      await entry.ready;
    } catch (error) {
      close();
      throw error;
    }
    return { wait: (untilMs, signal) => waiter.wait(untilMs, signal), close };
  }

  private acquire(channel: string): ChannelEntry {
    let entry = this.subscribed.get(channel);
    if (entry === undefined) {
      const ready = withTimeout(this.subscriber.subscribe(channel), this.timeoutMs).then(() => undefined);
      const created: ChannelEntry = { waiters: 0, ready };
      // A failed subscribe is retried by the next watcher instead of being cached.
      ready.catch(() => {
        if (this.subscribed.get(channel) === created) this.subscribed.delete(channel);
      });
      entry = created;
      this.subscribed.set(channel, entry);
    }
    entry.waiters++;
    return entry;
  }

  /**
   * Unsubscribes when the last waiter of a channel goes, so distinct names leave nothing behind. Commands on the
   * subscriber connection are sent in call order, so a later SUBSCRIBE of the same channel is never undone.
   */
  private release(channel: string, entry: ChannelEntry): void {
    entry.waiters--;
    // A failed subscribe already dropped its entry; a newer one belongs to other waiters.
    if (entry.waiters > 0 || this.subscribed.get(channel) !== entry) return;
    this.subscribed.delete(channel);
    this.subscriber.unsubscribe(channel).catch(() => undefined);
  }

  /** Channels currently subscribed (for tests and metrics). */
  get channelCount(): number {
    return this.subscribed.size;
  }

  wakeAll(): void {
    this.hub.wakeAll();
  }
}

interface ChannelEntry {
  waiters: number;
  ready: Promise<void>;
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return raceTimeout(
    promise,
    ms,
    () => new StoreUnavailableError(`redis did not confirm a subscription within ${ms} ms`),
  );
}
