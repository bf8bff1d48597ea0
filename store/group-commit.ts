/** What one item of a group came to: its own value, or its own error. */
export type GroupResult<R> = { value: R } | { error: unknown };

export interface GroupCommitOptions {
  /** Groups running at once; items submitted while all run wait and leave together in the next group. */
  maxInFlight: number;
  /** Items in one group at most. */
  maxGroup: number;
  /**
   * How long a group waits for company before it leaves, when a slot is free (default 0: at once). For writes
   * nobody waits on (trace events), so that a steady trickle of calls still shares one write.
   */
  collectMs?: number;
}

/**
 * Group commit: calls made while earlier ones are still running are handed to `flush` together, so a database pays
 * one transaction (one commit, a fixed number of statements) for many of them. A call made while a slot is free
 * leaves at once, so a lone caller never waits for company. `flush` answers one result per item, in order; if it
 * throws, every item of the group gets that error.
 */
export class GroupCommit<I, R> {
  private waiting: { item: I; resolve: (value: R) => void; reject: (error: unknown) => void }[] = [];
  private running = 0;
  private collecting: NodeJS.Timeout | undefined;

  constructor(
    private readonly flush: (items: I[]) => Promise<GroupResult<R>[]>,
    private readonly options: GroupCommitOptions,
    /** Told when nothing waits and nothing runs, so a keyed owner can forget this group. */
    private readonly onIdle?: () => void,
  ) {}

  submit(item: I): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ item, resolve, reject });
      const collectMs = this.options.collectMs ?? 0;
      if (collectMs <= 0 || this.waiting.length >= this.options.maxGroup) this.start();
      else
        this.collecting ??= setTimeout(() => {
          this.start();
        }, collectMs);
    });
  }

  /** Sends what is waiting now, without waiting for company (a reader that must see these writes). */
  flushNow(): void {
    this.start();
  }

  get idle(): boolean {
    return this.running === 0 && this.waiting.length === 0;
  }

  private start(): void {
    clearTimeout(this.collecting);
    this.collecting = undefined;
    while (this.running < this.options.maxInFlight && this.waiting.length > 0) {
      const group = this.waiting.splice(0, this.options.maxGroup);
      this.running++;
      void this.run(group);
    }
  }

  private async run(group: GroupCommit<I, R>["waiting"]): Promise<void> {
    try {
      const results = await this.flush(group.map((entry) => entry.item));
      group.forEach((entry, index) => {
        const result = results[index];
        if (result === undefined)
          entry.reject(new Error(`group commit answered no result for item ${index}`));
        else if ("error" in result) entry.reject(result.error);
        else entry.resolve(result.value);
      });
    } catch (error) {
      for (const entry of group) entry.reject(error);
    } finally {
      this.running--;
      this.start();
      if (this.idle) this.onIdle?.();
    }
  }
}

/** One GroupCommit per key (a queue, say), made on first use and forgotten when idle, so keys cost nothing at rest. */
export class KeyedGroupCommit<I, R> {
  private readonly groups = new Map<string, GroupCommit<I, R>>();

  constructor(
    private readonly flush: (key: string, items: I[]) => Promise<GroupResult<R>[]>,
    private readonly options: GroupCommitOptions,
  ) {}

  submit(key: string, item: I): Promise<R> {
    let group = this.groups.get(key);
    if (group === undefined) {
      const created = new GroupCommit<I, R>(
        (items) => this.flush(key, items),
        this.options,
        () => {
          if (this.groups.get(key) === created) this.groups.delete(key);
        },
      );
      group = created;
      this.groups.set(key, group);
    }
    return group.submit(item);
  }

  /** Keys with a group running or waiting (for tests: idle keys must not linger). */
  get size(): number {
    return this.groups.size;
  }
}
