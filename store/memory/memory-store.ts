import type { A2aTaskStore } from "../roles/a2a-tasks.js";
import { MemoryA2aTasks } from "./memory-a2a-tasks.js";
import type { QueueName } from "../../core/names.js";
import { LeaseError } from "../../core/errors.js";
import { BaseStore, type BaseStoreOptions } from "../base-store.js";
import type {
  AckOp,
  QueueScan,
  EnqueueOp,
  LeaseBatch,
  NackOutcome,
  NackRequest,
  QueuedEntry,
  WriteOp,
  WriteOutcome,
} from "../backend-types.js";
import { attemptsExhausted } from "../attempt-limit.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { formatLeaseId, type LeaseRef } from "../lease-id.js";
import type { AckFailureCode, DeadLetterReason, QueuedMessageState, QueueStats } from "../store.js";
import { WakeupHub, type Waiter } from "../wakeup-hub.js";
import { MemoryQueue, type MemoryEntry } from "./memory-queue.js";
import { MemoryRegistry } from "./memory-registry.js";
import { MemorySubscriptions } from "./memory-subscriptions.js";
import { MemoryDeadLetters } from "./memory-dead-letters.js";
import { MemoryTrace } from "./memory-trace.js";

export interface InMemoryStoreOptions extends BaseStoreOptions {
  domain?: string | undefined;
}

/** The embedded default: everything in this process, gone when it exits. */
export class InMemoryStore extends BaseStore {
  readonly kind = "memory" as const;
  readonly durable = false;
  private readonly queues = new Map<QueueName, MemoryQueue>();
  protected readonly subscriptionBackend = new MemorySubscriptions();
  protected readonly registryBackend = new MemoryRegistry();
  protected readonly traceBackend: MemoryTrace;
  protected readonly deadLetterPrimitives = new MemoryDeadLetters(this.queues);
  private readonly hub = new WakeupHub();
  private readonly a2aTaskRole = new MemoryA2aTasks();
  private closed = false;

  constructor(options: InMemoryStoreOptions = {}) {
    super(options);
    this.traceBackend = new MemoryTrace(this.policy.traceRetentionMs);
  }

  /** The A2A task role (store/roles/a2a-tasks.ts). */
  a2aTasks(): A2aTaskStore {
    return this.a2aTaskRole;
  }

  private queue(agent: QueueName): MemoryQueue {
    let queue = this.queues.get(agent);
    if (queue === undefined) {
      queue = new MemoryQueue();
      this.queues.set(agent, queue);
    }
    return queue;
  }

  protected applyWrites(ops: WriteOp[]): Promise<WriteOutcome[]> {
    const now = Date.now();
    // Check every ack before changing anything, so the whole batch applies or none of it does.
    for (const op of ops) if (op.kind === "ack") this.heldEntry(op.lease, now);
    const outcomes = ops.map((op) => (op.kind === "ack" ? this.applyAck(op) : this.applyEnqueue(op, now)));
    return Promise.resolve(outcomes);
  }

  protected ackLeases(leases: readonly LeaseRef[]): Promise<(AckFailureCode | undefined)[]> {
    const now = Date.now();
    const outcomes = leases.map((lease): AckFailureCode | undefined => {
      try {
        this.heldEntry(lease, now);
      } catch (error) {
        // heldEntry throws only LeaseError, whose codes are exactly the AckFailureCodes.
        if (error instanceof LeaseError) return error.code as AckFailureCode;
        throw error;
      }
      this.applyAck({ kind: "ack", lease });
      return undefined;
    });
    return Promise.resolve(outcomes);
  }

  private applyAck(op: AckOp): WriteOutcome {
    const queue = this.queues.get(op.lease.agent);
    const entry = queue?.entries.get(op.lease.id);
    if (entry !== undefined) queue?.remove(entry);
    return { duplicate: false };
  }

  private applyEnqueue(op: EnqueueOp, now: number): WriteOutcome {
    const queue = this.queue(op.agent);
    queue.pruneDedupe(now);
    if (op.replay) queue.deadLetters.delete(op.message.id);
    else if (queue.dedupe.has(op.dedupeKey)) return { duplicate: true };
    if (queue.entries.has(op.message.id)) return { duplicate: true };
    queue.dedupe.delete(op.dedupeKey);
    queue.dedupe.set(op.dedupeKey, now + this.policy.dedupeWindowMs);
    const entry: MemoryEntry = {
      id: op.message.id,
      json: op.json,
      priority: op.priority,
      seq: queue.nextSeq++,
      attempts: 0,
      state: "delayed",
      token: undefined,
      settledToken: undefined,
      dueAt: op.notBefore ?? now,
      expiresAt: op.expiresAt,
      history: [],
    };
    if (entry.expiresAt !== undefined && entry.expiresAt <= now) {
      this.deadLetter(queue, entry, "expired", now);
      return { duplicate: false, deadLettered: "expired" };
    }
    queue.entries.set(entry.id, entry);
    if (entry.dueAt > now) {
      queue.track(entry);
      return { duplicate: false };
    }
    queue.makeReady(entry);
    this.hub.notify(op.agent);
    return { duplicate: false };
  }

  /** The entry a lease still holds, or the LeaseError explaining why not. */
  private heldEntry(lease: LeaseRef, now: number): MemoryEntry {
    const entry = this.queues.get(lease.agent)?.entries.get(lease.id);
    if (entry === undefined) throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
    if (entry.settledToken === lease.token) throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
    if (entry.state !== "leased" || entry.token !== lease.token || entry.dueAt <= now) {
      // A token we never issued for this message is unknown; an older one was superseded by redelivery.
      if (Number(lease.token) >= (this.queues.get(lease.agent)?.nextToken ?? 0))
        throw new LeaseError("LEASE_NOT_FOUND", formatLeaseId(lease));
      throw new LeaseError("LEASE_EXPIRED", formatLeaseId(lease));
    }
    return entry;
  }

  protected leaseMessages(agent: QueueName, max: number, leaseMs: number): Promise<LeaseBatch> {
    const now = Date.now();
    const batch: LeaseBatch = {
      now,
      deliveries: [],
      expiredLeases: [],
      deadLettered: [],
      nextDueAt: undefined,
    };
    // A read never creates a queue: only a write does.
    const queue = this.queues.get(agent);
    if (queue === undefined) return Promise.resolve(batch);
    this.settleDue(agent, queue, now, batch);
    while (batch.deliveries.length < max) {
      const entry = queue.takeReady();
      if (entry === undefined) break;
      entry.attempts++;
      entry.state = "leased";
      entry.token = String(queue.nextToken++);
      entry.dueAt = now + leaseMs;
      queue.track(entry);
      batch.deliveries.push({
        id: entry.id,
        token: entry.token,
        attempt: entry.attempts,
        leaseExpiresAt: entry.dueAt,
        json: entry.json,
      });
    }
    for (const entry of queue.timed) {
      for (const due of [entry.state === "ready" ? undefined : entry.dueAt, entry.expiresAt]) {
        if (due !== undefined && due > now && (batch.nextDueAt === undefined || due < batch.nextDueAt))
          batch.nextDueAt = due;
      }
    }
    return Promise.resolve(batch);
  }

  /** Moves what time has made due: expired leases back to backoff or the DLQ, expired TTLs to the DLQ, due delays to ready. */
  private settleDue(agent: QueueName, queue: MemoryQueue, now: number, batch: LeaseBatch): void {
    for (const entry of [...queue.timed]) {
      if (entry.state === "leased" && entry.dueAt <= now) {
        entry.history.push({ attempt: entry.attempts, outcome: "lease-expired", at: now });
        batch.expiredLeases.push({ id: entry.id, attempt: entry.attempts });
        if (attemptsExhausted(agent, entry.attempts, this.policy)) {
          this.deadLetter(queue, entry, "max-attempts", now);
          batch.deadLettered.push({ id: entry.id, reason: "max-attempts" });
          continue;
        }
        entry.state = "delayed";
        entry.token = undefined;
        entry.dueAt =
          now + fullJitterBackoffMs(entry.attempts, this.policy.backoffBaseMs, this.policy.backoffMaxMs);
      }
      if (entry.state !== "leased" && entry.expiresAt !== undefined && entry.expiresAt <= now) {
        this.deadLetter(queue, entry, "expired", now);
        batch.deadLettered.push({ id: entry.id, reason: "expired" });
        continue;
      }
      if (entry.state === "delayed" && entry.dueAt <= now) queue.makeReady(entry);
    }
  }

  private deadLetter(queue: MemoryQueue, entry: MemoryEntry, reason: DeadLetterReason, now: number): void {
    queue.remove(entry);
    const lastError = [...entry.history].reverse().find((attempt) => attempt.reason !== undefined)?.reason;
    queue.deadLetters.delete(entry.id);
    queue.deadLetters.set(entry.id, {
      json: entry.json,
      reason,
      deadLetteredAt: now,
      attempts: entry.history,
      lastError,
    });
  }

  protected nackLease(lease: LeaseRef, request: NackRequest): Promise<NackOutcome> {
    const now = Date.now();
    const entry = this.heldEntry(lease, now);
    const queue = this.queue(lease.agent);
    entry.history.push({
      attempt: entry.attempts,
      outcome: "nacked",
      at: now,
      ...(request.reason === undefined ? {} : { reason: request.reason }),
    });
    const reason: DeadLetterReason | undefined =
      request.deadLetter ??
      (entry.expiresAt !== undefined && entry.expiresAt <= now
        ? "expired"
        : attemptsExhausted(lease.agent, entry.attempts, this.policy)
          ? "max-attempts"
          : undefined);
    if (reason !== undefined) {
      this.deadLetter(queue, entry, reason, now);
      return Promise.resolve({ outcome: "dead-lettered", reason, attempt: entry.attempts });
    }
    const delay =
      request.delayMs ??
      fullJitterBackoffMs(entry.attempts, this.policy.backoffBaseMs, this.policy.backoffMaxMs);
    entry.settledToken = entry.token;
    entry.token = undefined;
    entry.state = "delayed";
    entry.dueAt = now + delay;
    if (delay === 0) queue.makeReady(entry);
    else queue.track(entry);
    // Wakes waiting receivers either to take it now or to re-arm their timer for the new due time.
    this.hub.notify(lease.agent);
    return Promise.resolve({ outcome: "retry", redeliverAt: entry.dueAt, attempt: entry.attempts });
  }

  protected extendLeaseUntil(lease: LeaseRef, leaseMs: number): Promise<number> {
    const now = Date.now();
    const entry = this.heldEntry(lease, now);
    entry.dueAt = now + leaseMs;
    return Promise.resolve(entry.dueAt);
  }

  protected watch(agent: QueueName): Promise<Waiter> {
    return Promise.resolve(this.hub.register(agent));
  }

  protected readQueueEntries(
    agent: QueueName,
    state: QueuedMessageState,
    offset: number,
    limit: number,
  ): Promise<QueuedEntry[]> {
    const queue = this.queues.get(agent);
    if (queue === undefined) return Promise.resolve([]);
    const entries =
      state === "ready"
        ? queue.readyPage(offset, limit)
        : [...queue.timed]
            .filter((entry) => entry.state === state)
            .sort((a, b) => a.dueAt - b.dueAt || a.seq - b.seq)
            .slice(offset, offset + limit);
    return Promise.resolve(
      entries.map((entry) => ({
        json: entry.json,
        attempts: entry.attempts,
        dueAt: state === "ready" ? undefined : entry.dueAt,
      })),
    );
  }

  protected readQueueStats(agent: QueueName): Promise<QueueStats> {
    const queue = this.queues.get(agent);
    const now = Date.now();
    let ready = queue?.readyCount() ?? 0;
    let delayed = 0;
    let inFlight = 0;
    // Counted as of now, whether or not a receive has settled what time made due.
    for (const entry of queue?.timed ?? []) {
      if (entry.state === "leased" && entry.dueAt > now) inFlight++;
      else if (entry.state === "leased") delayed++;
      else if (entry.state === "delayed" && entry.dueAt <= now) ready++;
      else if (entry.state === "delayed") delayed++;
    }
    return Promise.resolve({
      agent,
      depth: ready + delayed,
      ready,
      delayed,
      inFlight,
      deadLettered: queue?.deadLetters.size ?? 0,
    });
  }

  protected dropQueue(agent: QueueName): Promise<boolean> {
    return Promise.resolve(this.queues.delete(agent));
  }

  protected readQueues(): Promise<QueueName[]> {
    return Promise.resolve([...this.queues.keys()]);
  }

  protected readQueuePage(after: string | undefined, limit: number): Promise<QueueScan> {
    const names = [...this.queues.keys()].filter((name) => after === undefined || name > after).sort();
    const page = names.slice(0, limit);
    return Promise.resolve({ queues: page, next: names.length > limit ? page.at(-1) : undefined });
  }

  ping(): Promise<void> {
    return Promise.resolve();
  }

  protected closeBackend(): Promise<void> {
    this.closed = true;
    this.hub.wakeAll();
    return Promise.resolve();
  }

  get isClosed(): boolean {
    return this.closed;
  }
}
