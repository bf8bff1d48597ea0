import type { QueueName } from "../../core/names.js";
import { WakeupHub, type Waiter } from "../wakeup-hub.js";

/** Answers which of the given queues have something a receiver could take now. */
export type VisibleWorkCheck = (agents: QueueName[]) => Promise<QueueName[]>;

/**
 * Wake-ups for long-polling receivers on a SQL store, which has no pub/sub:
 * - writes made by this process wake waiters at once through an in-process WakeupHub;
 * - writes made by other processes are found by one periodic check per store (every `intervalMs`, 25 ms by
 *   default, only while someone waits), which asks the database in one indexed statement which watched queues
 *   have visible work. However many receivers wait, a store runs one check at a time.
 * Delayed messages and expiring leases the waiter already knows about wake it through BaseStore's `nextDueAt`.
 */
export class SqlWatcher {
  private readonly hub = new WakeupHub();
  private readonly watched = new Map<QueueName, number>();
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly check: VisibleWorkCheck,
    private readonly intervalMs: number,
  ) {}

  watch(agent: QueueName): Waiter {
    const waiter = this.hub.register(agent);
    this.watched.set(agent, (this.watched.get(agent) ?? 0) + 1);
    this.schedule();
    let open = true;
    return {
      wait: (untilMs, signal) => waiter.wait(untilMs, signal),
      close: () => {
        if (!open) return;
        open = false;
        waiter.close();
        const count = (this.watched.get(agent) ?? 1) - 1;
        if (count <= 0) this.watched.delete(agent);
        else this.watched.set(agent, count);
      },
    };
  }

  notify(agent: QueueName): void {
    this.hub.notify(agent);
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    this.hub.wakeAll();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.closed || this.watched.size === 0) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    // A store with idle long-polls must not keep the process alive on its own.
    this.timer.unref();
  }

  private async tick(): Promise<void> {
    const agents = [...this.watched.keys()];
    try {
      if (agents.length > 0) for (const agent of await this.check(agents)) this.hub.notify(agent);
    } catch {
      // The database is unreachable: waiters find out on their own next look; keep checking meanwhile.
    } finally {
      this.timer = undefined;
      this.schedule();
    }
  }
}
