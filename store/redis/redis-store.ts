import calculateSlot from "cluster-key-slot";
import { Cluster, Redis, type ClusterNode, type RedisOptions } from "ioredis";
import { BmnError, LeaseError, ValidationError } from "../../core/errors.js";
import type { MessageId } from "../../core/ids.js";
import type { QueueName } from "../../core/names.js";
import { attemptLimitOf } from "../attempt-limit.js";
import { BaseStore, type BaseStoreOptions } from "../base-store.js";
import type {
  QueueScan,
  LeaseBatch,
  LeasedMessage,
  NackOutcome,
  NackRequest,
  QueuedEntry,
  WriteOp,
  WriteOutcome,
} from "../backend-types.js";
import type { LeaseRef } from "../lease-id.js";
import type {
  AckFailureCode,
  DeadLetterReason,
  QueuedMessageState,
  QueueStats,
  StoreMemoryStatus,
} from "../store.js";
import type { Waiter } from "../wakeup-hub.js";
import { leaseReplyCode, toStoreError } from "./redis-errors.js";
import { RedisKeys, type QueueKeyName } from "./redis-keys.js";
import { RedisNotifier } from "./redis-notifier.js";
import { ScriptRunner } from "./script-runner.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import { RedisDeadLetters } from "./redis-dead-letters.js";
import { checkEvictionPolicy, fullestNodeMemory } from "./redis-memory.js";
import { RedisRegistry } from "./redis-registry.js";
import { RedisA2aTasks } from "./redis-a2a-tasks.js";
import type { A2aTaskStore } from "../roles/a2a-tasks.js";
import { RedisSubscriptions } from "./redis-subscriptions.js";
import { RedisTrace } from "./redis-trace.js";

export type RedisConnection = { url: string } | { cluster: ClusterNode[] };

export interface RedisStoreOptions extends BaseStoreOptions {
  domain?: string | undefined;
  /** Defaults to `bmn:<domain>:`. */
  keyPrefix?: string | undefined;
  /** A command that gets no answer within this fails with STORE_UNAVAILABLE. */
  commandTimeoutMs?: number | undefined;
  /** Start even on an evicting maxmemory-policy (evicted keys are lost messages); a warning is logged. */
  allowEviction?: boolean | undefined;
  /** Where that warning goes; default process.emitWarning. */
  warn?: ((message: string) => void) | undefined;
}

/** How many due entries one lease call settles at most, so a huge backlog never makes one script slow. */
const SCAN_LIMIT = 500;

type Client = RedisClient;

/** The Redis backend, standalone or Cluster: each state change of a queue is one Lua script on that queue's slot. */
export class RedisStore extends BaseStore {
  readonly kind = "redis" as const;
  readonly durable = true;
  private readonly keys: RedisKeys;
  private readonly scripts: ScriptRunner;
  private readonly notifier: RedisNotifier;
  private readonly knownQueues = new Set<string>();
  protected readonly deadLetterPrimitives: RedisDeadLetters;
  protected readonly traceBackend: RedisTrace;
  protected readonly subscriptionBackend: RedisSubscriptions;
  protected readonly registryBackend: RedisRegistry;
  private readonly a2aTaskRole: RedisA2aTasks;

  private constructor(
    private readonly client: Client,
    private readonly subscriber: Client,
    options: RedisStoreOptions,
  ) {
    super(options);
    this.keys = new RedisKeys(options.keyPrefix ?? `bmn:${options.domain ?? "local"}:`);
    this.scripts = new ScriptRunner(client);
    this.notifier = new RedisNotifier(subscriber, this.keys, options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS);
    this.deadLetterPrimitives = new RedisDeadLetters(client, this.keys, this.scripts, () =>
      this.readQueues(),
    );
    this.subscriptionBackend = new RedisSubscriptions(client, this.keys, this.scripts);
    this.registryBackend = new RedisRegistry(client, this.keys);
    this.traceBackend = new RedisTrace(
      client,
      this.keys,
      this.policy.traceRetentionMs,
      client instanceof Cluster ? undefined : this.scripts,
    );
    this.a2aTaskRole = new RedisA2aTasks(client, this.keys, this.scripts);
  }

  /** The A2A task role (store/roles/a2a-tasks.ts). */
  a2aTasks(): A2aTaskStore {
    return this.a2aTaskRole;
  }

  static async connect(connection: RedisConnection, options: RedisStoreOptions = {}): Promise<RedisStore> {
    const timeout = options.commandTimeoutMs ?? DEFAULT_TIMEOUT_MS;
    const redisOptions: RedisOptions = {
      lazyConnect: true,
      // Fail fast while disconnected instead of queueing: callers get STORE_UNAVAILABLE and retry.
      enableOfflineQueue: false,
      // A call in flight when the connection drops fails at once and is never re-sent: Redis may have applied it
      // (an ack run twice answers LEASE_NOT_FOUND; a receive run twice leases messages no one gets), so only the
      // caller may decide to retry, and the resilience layer retries idempotent calls only.
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      commandTimeout: timeout,
      connectTimeout: timeout,
      retryStrategy: (times) => Math.min(50 * 2 ** times, 1_000),
    };
    const client: Client =
      "url" in connection
        ? new Redis(connection.url, { ...redisOptions, enableAutoPipelining: true })
        : new Cluster(connection.cluster, {
            lazyConnect: true,
            enableOfflineQueue: false,
            enableAutoPipelining: true,
            redisOptions,
            clusterRetryStrategy: (times) => Math.min(50 * 2 ** times, 1_000),
          });
    // The subscriber keeps its offline queue: subscriptions made while it reconnects are sent when it is back.
    const subscriber: Client =
      "url" in connection
        ? new Redis(connection.url, {
            ...redisOptions,
            enableOfflineQueue: true,
            autoResendUnfulfilledCommands: true,
            maxRetriesPerRequest: null,
            commandTimeout: undefined,
          })
        : new Cluster(connection.cluster, {
            lazyConnect: true,
            redisOptions: {
              ...redisOptions,
              autoResendUnfulfilledCommands: true,
              maxRetriesPerRequest: null,
            },
          });
    for (const connectionClient of [client, subscriber]) connectionClient.on("error", () => undefined);
    try {
      await Promise.all([client.connect(), subscriber.connect()]);
    } catch (error) {
      client.disconnect();
      subscriber.disconnect();
      throw toStoreError(error);
    }
    const store = new RedisStore(client, subscriber, options);
    try {
      await checkEvictionPolicy(store.dataNodes(), options);
      await store.replayTransactionLog();
      await store.subscriptionBackend.migrateSubscriptions();
    } catch (error) {
      await store.closeBackend();
      throw error;
    }
    return store;
  }

  /** Every node that holds data: the one server, or each cluster master. */
  private dataNodes(): Redis[] {
    return this.client instanceof Cluster ? this.client.nodes("master") : [this.client];
  }

  /** The fullest node's memory (a cluster is full when any master is). */
  override memoryStatus(): Promise<StoreMemoryStatus | undefined> {
    return fullestNodeMemory(this.dataNodes());
  }

  private queueKeys(agent: QueueName): string[] {
    return this.keys.queue(agent);
  }

  private call<T>(operation: () => Promise<T>, lease?: LeaseRef): Promise<T> {
    return callRedis(operation, lease);
  }

  private rememberQueue(agent: QueueName): Promise<unknown> {
    if (this.knownQueues.has(agent)) return Promise.resolve();
    this.knownQueues.add(agent);
    return this.client.sadd(this.keys.queues, agent).catch((error: unknown) => {
      this.knownQueues.delete(agent);
      throw error;
    });
  }

  // ---- writes ----------------------------------------------------------------------------------------
  protected async applyWrites(ops: WriteOp[]): Promise<WriteOutcome[]> {
    return this.call(async () => {
      const first = ops[0];
      if (ops.length === 1 && first?.kind === "enqueue") {
        const [, result] = await Promise.all([
          this.rememberQueue(first.agent),
          this.scripts.run("enqueue-12", this.queueKeys(first.agent), [
            first.message.id,
            first.json,
            first.priority,
            first.dedupeKey,
            this.policy.dedupeWindowMs,
            first.notBefore ?? 0,
            first.expiresAt ?? 0,
            first.replay ? "1" : "0",
            this.keys.notifyChannel(first.agent),
          ]),
        ]);
        return [toOutcome(result)];
      }
      if (ops.length === 1 && first?.kind === "ack") {
        try {
          await this.scripts.run("ack-12", this.queueKeys(first.lease.agent), [
            first.lease.id,
            first.lease.token,
            this.policy.dedupeWindowMs,
          ]);
        } catch (error) {
          throw toStoreError(error, first.lease);
        }
        return [{ duplicate: false }];
      }
      return this.commitMany(ops);
    });
  }

  /**
   * Several writes in one atomic step. On one Redis, or when every queue touched shares a cluster slot, that is
   * one script. Across cluster slots no script can be atomic, so the commit checks every ack first, logs the
   * writes, applies them slot by slot, and drops the log; a crash in between is finished by `replayTransactionLog`
   * (enqueues are idempotent by dedupe, acks of leases already gone are skipped).
   */
  private async commitMany(ops: WriteOp[]): Promise<WriteOutcome[]> {
    await Promise.all(ops.flatMap((op) => (op.kind === "enqueue" ? [this.rememberQueue(op.agent)] : [])));
    const groups = this.groupBySlot(ops);
    if (groups.length === 1) return this.runCommit(ops, "apply");
    for (const group of groups)
      await this.runCommit(
        group.map(({ op }) => op),
        "check",
      );
    const logId = `${Date.now()}-${Math.random().toString(36).slice(2)}`;
    await this.client.hset(this.keys.transactionLog, logId, JSON.stringify(ops.map(serializableOp)));
    const outcomes: WriteOutcome[] = new Array<WriteOutcome>(ops.length);
    for (const group of groups) {
      const results = await this.runCommit(
        group.map(({ op }) => op),
        "replay",
      );
      group.forEach(({ index }, position) => {
        outcomes[index] = results[position] ?? { duplicate: false };
      });
    }
    await this.client.hdel(this.keys.transactionLog, logId);
    return outcomes;
  }

  private groupBySlot(ops: WriteOp[]): { op: WriteOp; index: number }[][] {
    if (!(this.client instanceof Cluster)) return [ops.map((op, index) => ({ op, index }))];
    const groups = new Map<number, { op: WriteOp; index: number }[]>();
    ops.forEach((op, index) => {
      const slot = calculateSlot(this.keys.slotTag(op.kind === "ack" ? op.lease.agent : op.agent));
      const group = groups.get(slot) ?? [];
      group.push({ op, index });
      groups.set(slot, group);
    });
    return [...groups.values()];
  }

  private async runCommit(ops: WriteOp[], mode: "check" | "apply" | "replay"): Promise<WriteOutcome[]> {
    const agents: QueueName[] = [];
    const queueIndex = (agent: QueueName): number => {
      const index = agents.indexOf(agent);
      if (index >= 0) return index;
      agents.push(agent);
      return agents.length - 1;
    };
    const encoded = ops.map((op) =>
      op.kind === "ack"
        ? {
            kind: "ack",
            q: queueIndex(op.lease.agent),
            agent: op.lease.agent,
            id: op.lease.id,
            token: op.lease.token,
          }
        : {
            kind: "enqueue",
            q: queueIndex(op.agent),
            agent: op.agent,
            id: op.message.id,
            json: op.json,
            priority: op.priority,
            dedupeKey: op.dedupeKey,
            notBefore: op.notBefore ?? 0,
            expiresAt: op.expiresAt ?? 0,
            replay: op.replay ? "1" : "0",
          },
    );
    let results: unknown;
    try {
      results = await this.scripts.run(
        "commit",
        agents.flatMap((agent) => this.queueKeys(agent)),
        [
          JSON.stringify(encoded),
          this.policy.dedupeWindowMs,
          this.keys.notifyPrefix,
          mode === "check" ? "1" : "0",
          mode === "replay" ? "1" : "0",
        ],
      );
    } catch (error) {
      const code = leaseReplyCode(error);
      if (code !== undefined) {
        const ack = ops.find((op) => op.kind === "ack");
        throw new LeaseError(
          code,
          ack?.kind === "ack" ? `${ack.lease.agent}.${ack.lease.id}.${ack.lease.token}` : "?",
          { cause: error },
        );
      }
      throw error;
    }
    return (Array.isArray(results) ? results : []).map(toOutcome);
  }

  /** Finishes commits that a crashed process logged but did not complete. */
  private async replayTransactionLog(): Promise<void> {
    const pending = await this.call(() => this.client.hgetall(this.keys.transactionLog));
    for (const [logId, json] of Object.entries(pending)) {
      const ops = (JSON.parse(json) as WriteOp[]).map(reviveOp);
      for (const group of this.groupBySlot(ops))
        await this.call(() =>
          this.runCommit(
            group.map(({ op }) => op),
            "replay",
          ),
        );
      await this.call(() => this.client.hdel(this.keys.transactionLog, logId));
    }
  }

  // ---- leases ----------------------------------------------------------------------------------------
  /** One script call per queue (its keys share one slot), at most ACK_MANY_LIMIT leases each. */
  protected async ackLeases(leases: readonly LeaseRef[]): Promise<(AckFailureCode | undefined)[]> {
    const byQueue = new Map<QueueName, number[]>();
    leases.forEach((lease, index) => {
      const indexes = byQueue.get(lease.agent) ?? [];
      indexes.push(index);
      byQueue.set(lease.agent, indexes);
    });
    const outcomes = new Array<AckFailureCode | undefined>(leases.length).fill(undefined);
    const settleQueue = async (agent: QueueName, indexes: number[]): Promise<void> => {
      // Chunks of one queue in turn, so a lease repeated across chunks is settled once, as in one script.
      for (let start = 0; start < indexes.length; start += ACK_MANY_LIMIT) {
        const chunk = indexes.slice(start, start + ACK_MANY_LIMIT);
        const args: (string | number)[] = [this.policy.dedupeWindowMs];
        for (const index of chunk) {
          const lease = leases[index];
          if (lease !== undefined) args.push(lease.id, lease.token);
        }
        const reply = await this.call(() => this.scripts.run("ack-many-12", this.queueKeys(agent), args));
        const results = Array.isArray(reply) ? (reply as unknown[]) : [];
        chunk.forEach((index, position) => {
          const result = results[position];
          if (result === "LEASE_NOT_FOUND" || result === "LEASE_EXPIRED") outcomes[index] = result;
          else if (result !== "acked")
            throw new BmnError("INTERNAL", `ack-many-12 answered ${JSON.stringify(result)}`);
        });
      }
    };
    await Promise.all([...byQueue].map(([agent, indexes]) => settleQueue(agent, indexes)));
    return outcomes;
  }

  protected async leaseMessages(agent: QueueName, max: number, leaseMs: number): Promise<LeaseBatch> {
    const reply = await this.call(() =>
      this.scripts.run("lease-12", this.queueKeys(agent), [
        max,
        leaseMs,
        attemptLimitOf(agent, this.policy),
        this.policy.backoffBaseMs,
        this.policy.backoffMaxMs,
        randomSeed(),
        SCAN_LIMIT,
        this.policy.dedupeWindowMs,
      ]),
    );
    const [now, deliveries, expired, dead, nextDue] = reply as [
      unknown,
      string[],
      (string | number)[],
      string[],
      string,
    ];
    const batch: LeaseBatch = {
      now: Number(now),
      deliveries: [],
      expiredLeases: [],
      deadLettered: [],
      nextDueAt: Number(nextDue) < 0 ? undefined : Number(nextDue),
    };
    for (let i = 0; i < deliveries.length; i += 5) {
      const leased: LeasedMessage = {
        id: deliveries[i] as MessageId,
        token: String(deliveries[i + 1]),
        attempt: Number(deliveries[i + 2]),
        leaseExpiresAt: Number(deliveries[i + 3]),
        json: String(deliveries[i + 4]),
      };
      batch.deliveries.push(leased);
    }
    for (let i = 0; i < expired.length; i += 2) {
      batch.expiredLeases.push({ id: String(expired[i]) as MessageId, attempt: Number(expired[i + 1]) });
    }
    for (let i = 0; i < dead.length; i += 2) {
      batch.deadLettered.push({
        id: String(dead[i]) as MessageId,
        reason: String(dead[i + 1]) as DeadLetterReason,
      });
    }
    return batch;
  }

  protected async nackLease(lease: LeaseRef, request: NackRequest): Promise<NackOutcome> {
    // Times are reported on this process's clock from before the call: never later than the server's due time.
    const before = Date.now();
    const reply = await this.call(
      () =>
        this.scripts.run("nack-12", this.queueKeys(lease.agent), [
          lease.id,
          lease.token,
          request.delayMs ?? -1,
          request.reason ?? "",
          request.deadLetter ?? "",
          attemptLimitOf(lease.agent, this.policy),
          this.policy.backoffBaseMs,
          this.policy.backoffMaxMs,
          randomSeed(),
          this.keys.notifyChannel(lease.agent),
          this.policy.dedupeWindowMs,
        ]),
      lease,
    );
    const [outcome, attempt, detail, now] = reply as [string, unknown, string, unknown];
    if (outcome === "dead-lettered")
      return { outcome, attempt: Number(attempt), reason: detail as DeadLetterReason };
    return {
      outcome: "retry",
      attempt: Number(attempt),
      redeliverAt: before + (Number(detail) - Number(now)),
    };
  }

  protected async extendLeaseUntil(lease: LeaseRef, leaseMs: number): Promise<number> {
    // A lease's end as seen here errs early, never late.
    const before = Date.now();
    await this.call(
      () => this.scripts.run("extend-12", this.queueKeys(lease.agent), [lease.id, lease.token, leaseMs]),
      lease,
    );
    return before + leaseMs;
  }

  protected watch(agent: QueueName): Promise<Waiter> {
    return this.notifier.watch(agent);
  }

  // ---- stats, subscriptions, registry -----------------------------------------------------------------
  protected async readQueueEntries(
    agent: QueueName,
    state: QueuedMessageState,
    offset: number,
    limit: number,
  ): Promise<QueuedEntry[]> {
    const key = (name: QueueKeyName): string => this.keys.queueKey(agent, name);
    // ready, delayed and leased are sorted sets in exactly the order browsing shows.
    const ranked = await this.call(() =>
      this.client.zrange(key(state), offset, offset + limit - 1, "WITHSCORES"),
    );
    const ids: string[] = [];
    const scores: number[] = [];
    for (let i = 0; i + 1 < ranked.length; i += 2) {
      ids.push(ranked[i] ?? "");
      scores.push(Number(ranked[i + 1]));
    }
    if (ids.length === 0) return [];
    const [bodies, states] = await this.call(() =>
      Promise.all([this.client.hmget(key("msg"), ...ids), this.client.hmget(key("state"), ...ids)]),
    );
    const entries: QueuedEntry[] = [];
    ids.forEach((_id, index) => {
      const json = bodies[index];
      // Settled between the two reads: it is no longer in the queue.
      if (json === null || json === undefined) return;
      const attempts = Number((states[index] ?? "0").split("|")[0]) || 0;
      entries.push({ json, attempts, dueAt: state === "ready" ? undefined : scores[index] });
    });
    return entries;
  }

  protected async readQueueStats(agent: QueueName): Promise<QueueStats> {
    const key = (name: QueueKeyName): string => this.keys.queueKey(agent, name);
    // Counted as of the server's now, whether or not a receive has settled what time made due.
    const [time, readyNow, delayedAll, leasedAll, deadLettered] = await this.call(() =>
      Promise.all([
        this.client.time(),
        this.client.zcard(key("ready")),
        this.client.zcard(key("delayed")),
        this.client.zcard(key("leased")),
        this.client.zcard(key("dlq")),
      ]),
    );
    const now = Number(time[0]) * 1_000 + Math.floor(Number(time[1]) / 1_000);
    const [due, lapsed] = await this.call(() =>
      Promise.all([
        this.client.zcount(key("delayed"), "-inf", now),
        this.client.zcount(key("leased"), "-inf", now),
      ]),
    );
    const ready = readyNow + due;
    const delayed = delayedAll - due + lapsed;
    return { agent, depth: ready + delayed, ready, delayed, inFlight: leasedAll - lapsed, deadLettered };
  }

  /**
   * SSCAN pages, each O(page). One SSCAN reply can be longer than a page (small sets come back whole), so the
   * token is the SSCAN cursor plus how many of that reply were already answered.
   */
  protected async readQueuePage(after: string | undefined, limit: number): Promise<QueueScan> {
    const [start = "0", skipText = "0"] = (after ?? "0:0").split(":");
    if (!/^\d+$/.test(start) || !/^\d+$/.test(skipText))
      throw new ValidationError("cursor is not one this API handed out", {
        code: "INVALID_ARGUMENT",
        field: "cursor",
      });
    const queues: QueueName[] = [];
    let cursor = start;
    let skip = Number(skipText);
    for (;;) {
      const [next, members] = await this.call(() =>
        this.client.sscan(this.keys.queues, cursor, "COUNT", Math.max(limit, 10)),
      );
      const room = limit - queues.length;
      const fresh = members.slice(skip) as QueueName[];
      if (fresh.length > room) {
        queues.push(...fresh.slice(0, room));
        return { queues, next: `${cursor}:${skip + room}` };
      }
      queues.push(...fresh);
      skip = 0;
      cursor = next;
      if (cursor === "0") return { queues, next: undefined };
      if (queues.length === limit) return { queues, next: `${cursor}:0` };
    }
  }

  protected async dropQueue(agent: QueueName): Promise<boolean> {
    // The 12 keys share one slot, so one DEL removes them together; the listing goes after.
    const deleted = await this.call(() => this.client.del(...this.queueKeys(agent)));
    const listed = await this.call(() => this.client.srem(this.keys.queues, agent));
    this.knownQueues.delete(agent);
    return deleted > 0 || listed > 0;
  }

  protected async readQueues(): Promise<QueueName[]> {
    return (await this.call(() => this.client.smembers(this.keys.queues))) as QueueName[];
  }

  async ping(): Promise<void> {
    await this.call(async () => {
      if (this.client instanceof Cluster) {
        await Promise.all(this.client.nodes("master").map((node) => node.ping()));
      } else {
        await this.client.ping();
      }
    });
  }

  protected override async closeBackend(): Promise<void> {
    this.notifier.wakeAll();
    await Promise.allSettled([this.client.quit(), this.subscriber.quit()]);
    this.client.disconnect();
    this.subscriber.disconnect();
  }
}

const DEFAULT_TIMEOUT_MS = 2_000;
/** Leases settled by one ack-many script call at most, so a huge list never makes one script slow. */
const ACK_MANY_LIMIT = 500;

function randomSeed(): number {
  return Math.floor(Math.random() * 2 ** 31);
}

function toOutcome(result: unknown): WriteOutcome {
  if (result === "duplicate") return { duplicate: true };
  if (result === "expired") return { duplicate: false, deadLettered: "expired" };
  return { duplicate: false };
}

/** Logged ops drop the parsed message; the JSON text is all a replay needs. */
function serializableOp(op: WriteOp): unknown {
  return op.kind === "ack" ? op : { ...op, message: { id: op.message.id } };
}

function reviveOp(op: WriteOp): WriteOp {
  return op;
}
