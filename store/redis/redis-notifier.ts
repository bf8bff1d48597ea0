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
  private readonly subscribed = new Map<string, Promise<void>>();

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
    try {
      await this.ensureSubscribed(this.keys.notifyChannel(agent));
    } catch (error) {
      waiter.close();
      throw error;
    }
    return waiter;
  }

  private ensureSubscribed(channel: string): Promise<void> {
    let pending = this.subscribed.get(channel);
    if (pending === undefined) {
      pending = withTimeout(this.subscriber.subscribe(channel), this.timeoutMs).then(() => undefined);
      // A failed subscribe is retried by the next watcher instead of being cached.
      pending.catch(() => this.subscribed.delete(channel));
      this.subscribed.set(channel, pending);
    }
    return pending;
  }

  wakeAll(): void {
    this.hub.wakeAll();
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return raceTimeout(
    promise,
    ms,
    () => new StoreUnavailableError(`redis did not confirm a subscription within ${ms} ms`),
  );
}
