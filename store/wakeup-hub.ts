import type { QueueName } from "../core/names.js";

/**
 * In-process wake-ups for long-polling receivers. Backends call `notify(agent)` when a message becomes
 * visible; a receiver registers before it looks at the queue, so a message that lands in between still wakes it.
 */
export class WakeupHub {
  private readonly listeners = new Map<string, Set<() => void>>();

  register(agent: QueueName): Waiter {
    let wake: () => void = () => undefined;
    let woken = false;
    const listener = (): void => {
      woken = true;
      wake();
    };
    let set = this.listeners.get(agent);
    if (set === undefined) {
      set = new Set();
      this.listeners.set(agent, set);
    }
    set.add(listener);
    const close = (): void => {
      const current = this.listeners.get(agent);
      current?.delete(listener);
      if (current?.size === 0) this.listeners.delete(agent);
    };
    return {
      wait: (untilMs, signal) =>
        new Promise<void>((resolve) => {
          if (woken || signal?.aborted === true) {
            woken = false;
            resolve();
            return;
          }
          const finish = (): void => {
            clearTimeout(timer);
            signal?.removeEventListener("abort", finish);
            wake = () => undefined;
            woken = false;
            resolve();
          };
          const timer = setTimeout(finish, Math.max(0, untilMs - Date.now()));
          signal?.addEventListener("abort", finish, { once: true });
          wake = finish;
        }),
      close,
    };
  }

  notify(agent: string): void {
    const set = this.listeners.get(agent);
    if (set === undefined) return;
    for (const listener of [...set]) listener();
  }

  hasListeners(agent: string): boolean {
    return this.listeners.has(agent);
  }

  wakeAll(): void {
    for (const set of this.listeners.values()) for (const listener of [...set]) listener();
  }
}

export interface Waiter {
  /** Resolves on the next wake-up, at `untilMs` (epoch ms), or when `signal` aborts. */
  wait(untilMs: number, signal?: AbortSignal): Promise<void>;
  close(): void;
}
