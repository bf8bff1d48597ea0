/**
 * What the bridge itself put on the legacy network, so it does not take it back as new (its own channel messages
 * come back to its subscriber). Bounded: the oldest entries go first.
 */
export class RecentIds {
  private readonly ids = new Set<string>();
  private readonly agents = new Set<string>();

  constructor(private readonly limit = 10_000) {}

  remember(id: string): void {
    add(this.ids, id, this.limit);
  }

  has(id: string): boolean {
    return this.ids.has(id);
  }

  /** A BMN agent the bridge announced under this legacy id. */
  rememberAgent(legacyId: string): void {
    add(this.agents, legacyId, this.limit);
  }

  hasAgent(legacyId: string): boolean {
    return this.agents.has(legacyId);
  }
}

function add(set: Set<string>, value: string, limit: number): void {
  set.delete(value);
  set.add(value);
  if (set.size > limit) {
    const oldest = set.values().next();
    if (oldest.done !== true) set.delete(oldest.value);
  }
}
