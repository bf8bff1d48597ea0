import type { Cluster, Redis } from "ioredis";
import type { QueueName } from "../../core/names.js";
import { StoreUnavailableError } from "../../core/errors.js";
import { raceTimeout } from "../../core/race-timeout.js";
import { WakeupHub, type Waiter } from "../wakeup-hub.js";
import type { RedisKeys } from "./redis-keys.js";

/** How long a channel stays subscribed after its last waiter left, so a poll loop does not resubscribe each time. */
const LINGER_MS = 1_000;
/** Idle channels kept subscribed at most; past this the longest idle one goes at once. */
const MAX_LINGERING = 256;

/**
 * Wakes long-polling receivers when any process makes a message visible: scripts PUBLISH on the agent's
 * channel, and one subscriber connection per store fans that out in-process. Pub/sub can drop a message while
 * reconnecting, so every reconnect wakes all waiters to look again.
 */
export class RedisNotifier {
  private readonly hub = new WakeupHub();
  /** Channels subscribed, with how many waiters use each; the last one to go unsubscribes. */
  private readonly subscribed = new Map<string, ChannelEntry>();
  /** Subscribed channels without waiters, longest idle first. */
  private readonly lingering = new Map<string, number>();
  private sweep: NodeJS.Timeout | undefined;

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
    this.lingering.delete(channel);
    return entry;
  }

  /**
   * When the last waiter of a channel goes, the channel stays subscribed for LINGER_MS (a receiver polling in a
   * loop finds it ready), then is unsubscribed, so distinct names leave nothing behind. Commands on the
   * subscriber connection are sent in call order, so a later SUBSCRIBE of the same channel is never undone.
   */
  private release(channel: string, entry: ChannelEntry): void {
    entry.waiters--;
    // A failed subscribe already dropped its entry; a newer one belongs to other waiters.
    if (entry.waiters > 0 || this.subscribed.get(channel) !== entry) return;
    this.lingering.set(channel, Date.now());
    for (const [oldest] of this.lingering) {
      if (this.lingering.size <= MAX_LINGERING) break;
      this.unsubscribe(oldest);
    }
    this.sweep ??= setTimeout(() => {
      this.sweepLingering();
    }, LINGER_MS).unref();
  }

  private sweepLingering(): void {
    this.sweep = undefined;
    const now = Date.now();
    for (const [channel, idleSince] of this.lingering) {
      if (now - idleSince < LINGER_MS) break;
      this.unsubscribe(channel);
    }
    if (this.lingering.size > 0) {
      this.sweep = setTimeout(() => {
        this.sweepLingering();
      }, LINGER_MS).unref();
    }
  }

  private unsubscribe(channel: string): void {
    this.lingering.delete(channel);
    const entry = this.subscribed.get(channel);
    if (entry === undefined || entry.waiters > 0) return;
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
