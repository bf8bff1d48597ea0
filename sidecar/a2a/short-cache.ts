/**
 * Answers of a slow source kept for `ttlMs` after they arrive (0: not kept), one call in flight per key
 * (concurrent askers share it); a failed call is not kept. At most `maxEntries` keys; past that the oldest goes.
 * For work an unauthenticated route does.
 */
export class ShortCache<K, V> {
  private readonly entries = new Map<K, { at: number | undefined; value: Promise<V> }>();

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: K, load: () => Promise<V>): Promise<V> {
    const entry = this.entries.get(key);
    // `at` is undefined while the call is in flight.
    if (entry !== undefined && (entry.at === undefined || this.now() - entry.at < this.ttlMs))
      return entry.value;
    const value = load();
    const fresh: { at: number | undefined; value: Promise<V> } = { at: undefined, value };
    this.entries.delete(key);
    this.entries.set(key, fresh);
    if (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    value.then(
      () => {
        fresh.at = this.now();
      },
      () => {
        if (this.entries.get(key) === fresh) this.entries.delete(key);
      },
    );
    return value;
  }
}
