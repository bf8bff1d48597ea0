import type { MessageId } from "../../core/ids.js";
import type { AttemptRecord, DeadLetterReason } from "../store.js";

export interface MemoryEntry {
  id: MessageId;
  json: string;
  priority: number;
  /** Position in enqueue order; a redelivered message goes back to the same place. */
  seq: number;
  attempts: number;
  state: "ready" | "delayed" | "leased";
  token: string | undefined;
  /** The token of the last lease given back by nack: settling it again is LEASE_NOT_FOUND, not LEASE_EXPIRED. */
  settledToken: string | undefined;
  /** Lease expiry while leased, visibility time while delayed. */
  dueAt: number;
  expiresAt: number | undefined;
  history: AttemptRecord[];
}

export interface MemoryDeadLetter {
  json: string;
  reason: DeadLetterReason;
  deadLetteredAt: number;
  attempts: AttemptRecord[];
  lastError: string | undefined;
}

/** One agent's queue: ready entries ordered by (priority desc, seq asc), plus delayed and leased sets. */
export class MemoryQueue {
  readonly entries = new Map<MessageId, MemoryEntry>();
  /** Ready ids per priority 0-9, each sorted by seq. */
  private readonly ready: MemoryEntry[][] = Array.from({ length: 10 }, () => []);
  /** Entries a clock can change: delayed, leased or carrying a TTL. Only these are scanned when time passes. */
  readonly timed = new Set<MemoryEntry>();
  readonly dedupe = new Map<string, number>();
  readonly deadLetters = new Map<MessageId, MemoryDeadLetter>();
  nextSeq = 1;
  nextToken = 1;

  /** Keeps `timed` in step with an entry's state; call after every state change. */
  track(entry: MemoryEntry): void {
    if (entry.state !== "ready" || entry.expiresAt !== undefined) this.timed.add(entry);
    else this.timed.delete(entry);
  }

  remove(entry: MemoryEntry): void {
    this.entries.delete(entry.id);
    this.timed.delete(entry);
    if (entry.state === "ready") this.removeReady(entry);
  }

  makeReady(entry: MemoryEntry): void {
    entry.state = "ready";
    entry.token = undefined;
    this.track(entry);
    const list = this.ready[entry.priority] ?? [];
    // Binary search keeps redelivered entries in their original enqueue position.
    let low = 0;
    let high = list.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if ((list[mid]?.seq ?? 0) < entry.seq) low = mid + 1;
      else high = mid;
    }
    list.splice(low, 0, entry);
  }

  takeReady(): MemoryEntry | undefined {
    for (let priority = 9; priority >= 0; priority--) {
      const entry = this.ready[priority]?.shift();
      if (entry !== undefined) return entry;
    }
    return undefined;
  }

  removeReady(entry: MemoryEntry): void {
    const list = this.ready[entry.priority];
    if (list === undefined) return;
    const index = list.indexOf(entry);
    if (index >= 0) list.splice(index, 1);
  }

  /** Ready entries in delivery order (priority high to low, then enqueue order), from `offset`. */
  readyPage(offset: number, limit: number): MemoryEntry[] {
    const page: MemoryEntry[] = [];
    let skip = offset;
    for (let priority = 9; priority >= 0 && page.length < limit; priority--) {
      const list = this.ready[priority] ?? [];
      if (skip >= list.length) {
        skip -= list.length;
        continue;
      }
      page.push(...list.slice(skip, skip + limit - page.length));
      skip = 0;
    }
    return page;
  }

  readyCount(): number {
    return this.ready.reduce((sum, list) => sum + list.length, 0);
  }

  /** Drops dedupe keys whose window has passed; insertion order is expiry order for a fixed window. */
  pruneDedupe(now: number): void {
    for (const [key, until] of this.dedupe) {
      if (until > now) break;
      this.dedupe.delete(key);
    }
  }
}
