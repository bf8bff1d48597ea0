import type { FastifyBaseLogger } from "fastify";
import type { GatewayConfig } from "../core/config.js";
import type { DeadLetterReason } from "../core/dead-letter.js";
import { serializeMessage, timeOf } from "../core/envelope.js";
import { BmnError } from "../core/errors.js";
import { outboxQueueName, type DomainName } from "../core/names.js";
import { CircuitOpenError } from "../runtime/resilience/circuit-breaker.js";
import type { Delivery, QueueStore } from "../store/store.js";
import { lingerMs, takeBatch, type BatchLimits } from "./batch-builder.js";
import { encodeBody } from "./compression.js";
import { forwardBackoffMs } from "./forward-backoff.js";
import type { GatewayMetrics } from "./gateway-metrics.js";
import type { GatewayTracing } from "./gateway-tracing.js";
import type { PeerClient } from "./peer-client.js";
import type { RoutingTable } from "./routing-table.js";
import type { TokenBucket } from "./token-bucket.js";
import { viaOf, withVia } from "./via.js";
import type { BatchResult } from "../core/api/gateway-api.js";

/** A leased outbox message this forwarder holds until the next hop acks it (or it is dead-lettered). */
interface Held {
  delivery: Delivery;
  sizeBytes: number;
  /** Forward attempts so far (a lease taken over from a crashed replica starts from the store's attempt count). */
  attempts: number;
  /** When it entered the outbox, as far as the message says (its `time`), else when this gateway leased it. */
  enteredAt: number;
}

export interface ForwarderDeps {
  ownDomain: DomainName;
  actor: string;
  /** Only queues and leases: the forwarder drains outboxes. */
  store: QueueStore;
  config: GatewayConfig;
  routing: RoutingTable;
  peers: ReadonlyMap<string, PeerClient>;
  bandwidth: ReadonlyMap<string, TokenBucket>;
  metrics: GatewayMetrics;
  tracing: GatewayTracing;
  log: FastifyBaseLogger;
  /** True once every peer has been probed once, so a destination without a route really is unknown. */
  routesReady: () => boolean;
  /** Injectable for tests. */
  random?: () => number;
  /** How a send waits for the link's bandwidth bucket (tests: a virtual clock); a real timer by default. */
  bandwidthSleep?: (ms: number) => Promise<void>;
}

/** How long an idle forwarder long-polls its outbox before looking again. */
const IDLE_WAIT_MS = 5_000;

/**
 * Forwards one destination domain's outbox: receives leased messages, batches them (adaptively), sends each batch
 * to the destination's next hop and settles the leases by the answer: accepted and duplicate are acked, refused
 * are dead-lettered with the peer's reason. One batch is in flight at a time (order within a destination). While
 * a batch is retried (backoff with full jitter, breaker per peer, endpoint failover) its leases are extended, so
 * another replica does not take the messages over; a message past its TTL or `maxForwardAttempts` is
 * dead-lettered (`expired`, `max-attempts`), one without any route `unroutable`.
 */
export class DestinationForwarder {
  readonly queue: string;
  private readonly held = new Map<string, Held>();
  private pending: Held[] = [];
  private readonly stop = new AbortController();
  private running: Promise<void> | undefined;
  private backedUp = false;
  private readonly leaseMs: number;
  private readonly limits: BatchLimits;
  /** Set by a 413: the next batches carry at most this many messages. */
  private maxMessagesOverride: number | undefined;
  /**
   * The acks and dead-letters of the last answered batch, still running: they overlap with leasing, encoding and
   * sending the next batch (one batch settling at most; awaited before the next answer is settled and on stop).
   */
  private settling: Promise<void> = Promise.resolve();

  constructor(
    readonly destination: DomainName,
    private readonly deps: ForwarderDeps,
  ) {
    this.queue = outboxQueueName(destination);
    // Outlives a request timeout with margin, renewed every third of it while held; after a crash (kill -9) the
    // messages come back within one lease.
    this.leaseMs = Math.max(5_000, deps.config.requestTimeoutMs * 3);
    this.limits = deps.config.batching;
  }

  /** Starts the loop (idempotent). */
  start(): void {
    this.running ??= this.run().catch((error: unknown) => {
      this.deps.log.error({ err: error, destination: this.destination }, "forwarder stopped on an error");
    });
  }

  /** Messages held (leased) by this forwarder now. */
  get inFlight(): number {
    return this.held.size;
  }

  /** Age of the oldest message this forwarder holds (leased, waiting to be forwarded or acked); 0 when none. */
  oldestAgeMs(now = Date.now()): number {
    let oldest: number | undefined;
    for (const held of this.held.values()) oldest = Math.min(oldest ?? held.enteredAt, held.enteredAt);
    return oldest === undefined ? 0 : Math.max(0, now - oldest);
  }

  /**
   * Stops receiving, lets the batch in flight finish (its answer is settled), then releases every lease still
   * held so another replica (or this one after a restart) forwards those messages at once.
   */
  async drain(): Promise<void> {
    this.stop.abort();
    await this.running;
  }

  private isStopping(): boolean {
    return this.stop.signal.aborted;
  }

  private async run(): Promise<void> {
    const keeper = setInterval(() => void this.extendLeases(), Math.floor(this.leaseMs / 3));
    keeper.unref();
    try {
      let receiveFailures = 0;
      while (!this.isStopping()) {
        try {
          await this.fill();
          receiveFailures = 0;
        } catch (error) {
          receiveFailures++;
          this.deps.log.warn(
            { err: error, destination: this.destination },
            "cannot read the outbox; backing off",
          );
          await this.pause(
            forwardBackoffMs(
              receiveFailures,
              this.deps.config.retry.backoffBaseMs,
              this.deps.config.retry.backoffMaxMs,
            ),
          );
          continue;
        }
        if (this.pending.length === 0 || this.isStopping()) continue;
        const limits = this.currentLimits();
        const { batch, rest } = takeBatch(this.pending, limits);
        this.pending = rest;
        await this.forward(batch);
      }
    } finally {
      clearInterval(keeper);
      await this.settling;
      await this.releaseAll();
    }
  }

  private currentLimits(): BatchLimits {
    return this.maxMessagesOverride === undefined
      ? this.limits
      : { ...this.limits, maxMessages: Math.min(this.limits.maxMessages, this.maxMessagesOverride) };
  }

  /** Receives until a batch is worth sending: at once when backed up, else lingering up to maxDelayMs. */
  private async fill(): Promise<void> {
    const limits = this.currentLimits();
    if (this.pending.length === 0) {
      const received = await this.receive(limits.maxMessages, IDLE_WAIT_MS);
      this.backedUp = received >= limits.maxMessages;
      if (received === 0) return;
    }
    // Linger counts from when the oldest pending message entered the outbox (its `time`, clamped to now), not from
    // when this forwarder leased it: a message that already waited behind the batch in flight has used up that
    // much of its batching delay. A message from the future (clock skew) lingers at most maxDelayMs.
    const now = Date.now();
    let firstTakenAt = now;
    for (const held of this.pending) firstTakenAt = Math.min(firstTakenAt, held.enteredAt);
    for (;;) {
      const wait = lingerMs(this.pending, limits, { backedUp: this.backedUp, firstTakenAt, now: Date.now() });
      if (wait <= 0 || this.isStopping()) return;
      const want = limits.maxMessages - this.pending.length;
      const received = await this.receive(want, wait);
      if (received >= want) this.backedUp = true;
    }
  }

  private async receive(max: number, waitMs: number): Promise<number> {
    if (max <= 0) return 0;
    const deliveries = await this.deps.store.receive(this.queue, {
      max,
      waitMs,
      leaseMs: this.leaseMs,
      signal: this.stop.signal,
      actor: this.deps.actor,
    });
    const now = Date.now();
    for (const delivery of deliveries) {
      const held: Held = {
        delivery,
        sizeBytes: Buffer.byteLength(serializeMessage(delivery.message)),
        attempts: Math.max(0, delivery.attempt - 1),
        enteredAt: timeOf(delivery.message.time) ?? now,
      };
      this.held.set(delivery.leaseId, held);
      this.pending.push(held);
    }
    return deliveries.length;
  }

  /** Sends one batch until every message in it is settled (or the gateway stops). */
  private async forward(initial: Held[]): Promise<void> {
    let batch = initial;
    let failures = 0;
    const { retry } = this.deps.config;
    while (batch.length > 0) {
      batch = await this.dropHopeless(batch);
      if (batch.length === 0) return;
      if (this.isStopping() && failures > 0) {
        // Shutting down in the middle of retries: give the messages back rather than hold shutdown up.
        return;
      }
      const nextHop = this.deps.routing.nextHop(this.destination);
      if (nextHop === undefined) {
        if (this.deps.routesReady() && !this.deps.routing.wasKnown(this.destination)) {
          await this.deadLetterAll(
            batch,
            "unroutable",
            `no route from domain ${this.deps.ownDomain} to domain ${this.destination}`,
          );
          return;
        }
        failures++;
        for (const held of batch) held.attempts++;
        await this.pause(
          forwardBackoffMs(failures, retry.backoffBaseMs, retry.backoffMaxMs, this.randomOption()),
        );
        continue;
      }
      const peer = this.deps.peers.get(nextHop);
      if (peer === undefined) {
        failures++;
        await this.pause(
          forwardBackoffMs(failures, retry.backoffBaseMs, retry.backoffMaxMs, this.randomOption()),
        );
        continue;
      }
      const outcome = await this.send(batch, peer);
      if (outcome.kind === "settled") {
        this.maxMessagesOverride = undefined;
        batch = outcome.retry;
        if (batch.length === 0) return;
        failures++;
        for (const held of batch) held.attempts++;
        continue;
      }
      if (outcome.kind === "too-large") {
        if (batch.length === 1) {
          await this.deadLetterAll(batch, "too-large", outcome.message);
          return;
        }
        // Send the first half now; the rest goes back to the front of the queue, order kept.
        const half = Math.ceil(batch.length / 2);
        this.maxMessagesOverride = half;
        this.pending = [...batch.slice(half), ...this.pending];
        batch = batch.slice(0, half);
        continue;
      }
      if (outcome.kind === "throttled") {
        await this.pause(Math.max(outcome.retryAfterMs, 50));
        continue;
      }
      failures++;
      for (const held of batch) held.attempts++;
      const delay = forwardBackoffMs(failures, retry.backoffBaseMs, retry.backoffMaxMs, {
        retryAfterMs: outcome.retryAfterMs,
        ...this.randomOption(),
      });
      this.deps.log.warn(
        {
          destination: this.destination,
          peer: peer.domain,
          failures,
          delayMs: delay,
          error: outcome.message,
        },
        "forward failed; retrying",
      );
      await this.pause(delay);
    }
  }

  private randomOption(): { random?: () => number } {
    return this.deps.random === undefined ? {} : { random: this.deps.random };
  }

  private async send(
    batch: Held[],
    peer: PeerClient,
  ): Promise<
    | { kind: "settled"; retry: Held[] }
    | { kind: "too-large"; message: string }
    | { kind: "throttled"; retryAfterMs: number }
    | { kind: "failed"; message: string; retryAfterMs: number | undefined }
  > {
    const { metrics, tracing, ownDomain } = this.deps;
    const traced = tracing.forwardBatch(
      batch.map((held) => withVia(held.delivery.message, ownDomain)),
      peer.domain,
      this.destination,
    );
    const raw = Buffer.from(JSON.stringify({ messages: traced.messages }));
    const { compression } = this.deps.config;
    const encoded = await encodeBody(raw, compression.algorithm, compression.minBytes);
    const bucket = this.deps.bandwidth.get(peer.domain);
    if (bucket !== undefined) {
      const wait = bucket.take(encoded.body.length);
      if (wait > 0) {
        metrics.bandwidthDelays.inc({ peer: peer.domain });
        metrics.bandwidthDelaySeconds.inc({ peer: peer.domain }, wait / 1_000);
        await (this.deps.bandwidthSleep?.(wait) ?? this.pause(wait, false));
      }
    }
    let response;
    try {
      response = await peer.sendBatch(encoded.body, encoded.encoding);
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      traced.end("failed", message);
      metrics.forwardAttempts.inc({ peer: peer.domain, outcome: "failed" });
      return {
        kind: "failed",
        message,
        retryAfterMs: error instanceof CircuitOpenError ? error.retryAfterMs : undefined,
      };
    }
    metrics.bytes.inc({ peer: peer.domain, direction: "sent", stage: "uncompressed" }, raw.length);
    metrics.bytes.inc({ peer: peer.domain, direction: "sent", stage: "wire" }, encoded.body.length);
    metrics.linkRtt.observe({ peer: peer.domain }, response.rttMs / 1_000);
    if (response.status === 429) {
      traced.end("throttled");
      metrics.forwardAttempts.inc({ peer: peer.domain, outcome: "throttled" });
      return { kind: "throttled", retryAfterMs: response.retryAfterMs ?? 1_000 };
    }
    if (response.status === 413) {
      traced.end("too-large");
      return {
        kind: "too-large",
        message: `peer ${peer.domain} refused a batch of ${raw.length} bytes as too large`,
      };
    }
    if (response.body === undefined) {
      traced.end("failed", `status ${response.status}`);
      metrics.forwardAttempts.inc({ peer: peer.domain, outcome: "failed" });
      return {
        kind: "failed",
        message: `peer ${peer.domain} answered ${response.status}`,
        retryAfterMs: response.retryAfterMs,
      };
    }
    metrics.forwardAttempts.inc({ peer: peer.domain, outcome: "ok" });
    metrics.batchMessages.observe({ peer: peer.domain }, batch.length);
    metrics.batchBytes.observe({ peer: peer.domain }, raw.length);
    const results = new Map<string, BatchResult>();
    for (const result of response.body.results) results.set(result.id, result);
    traced.end(batch.map((held) => results.get(held.delivery.message.id)?.status ?? "unanswered"));
    const retry: Held[] = [];
    // The previous batch's settling has had this whole round trip to finish; at most one batch settles at a time.
    await this.settling;
    const accepted: Held[] = [];
    const settles = batch.map(async (held) => {
      const result = results.get(held.delivery.message.id);
      if (result === undefined) {
        retry.push(held);
        return;
      }
      if (result.status === "refused") {
        const via = [...viaOf(held.delivery.message), ownDomain, peer.domain].join(" -> ");
        metrics.forwarded.inc({ peer: peer.domain, outcome: "refused" });
        await this.deadLetterOne(held, {
          reason: result.reason ?? "rejected",
          detail: `refused by domain ${peer.domain}: ${result.message ?? result.reason ?? "no reason given"} (hops: ${via})`,
        });
        return;
      }
      metrics.forwarded.inc({
        peer: peer.domain,
        outcome: result.status === "accepted" ? "forwarded" : "duplicate",
      });
      accepted.push(held);
    });
    // `accepted` is complete here (it is filled before any await); its acks go to the store as one batch.
    this.settling = Promise.all([...settles, this.ackAll(accepted)]).then(
      () => undefined,
      (error: unknown) => {
        this.deps.log.warn({ err: error, destination: this.destination }, "settling a batch failed");
      },
    );
    // `retry` is complete here: unanswered messages are pushed before any settle awaits.
    // Keep the batch's order for the messages to retry.
    retry.sort((a, b) => batch.indexOf(a) - batch.indexOf(b));
    return { kind: "settled", retry };
  }

  /** Dead-letters what can no longer be forwarded (TTL passed, attempts used up); returns the rest. */
  private async dropHopeless(batch: Held[]): Promise<Held[]> {
    const now = Date.now();
    const max = this.deps.config.retry.maxForwardAttempts;
    const keep: Held[] = [];
    for (const held of batch) {
      const expiresAt = timeOf(held.delivery.message.expiresat);
      if (expiresAt !== undefined && expiresAt <= now) {
        await this.deadLetter(
          held,
          "expired",
          `expired at ${held.delivery.message.expiresat ?? ""} before it could be forwarded to ${this.destination} after ${held.attempts} attempts`,
        );
      } else if (max > 0 && held.attempts >= max) {
        await this.deadLetter(
          held,
          "max-attempts",
          `could not be forwarded to ${this.destination} in ${held.attempts} attempts`,
        );
      } else keep.push(held);
    }
    return keep;
  }

  private async deadLetterAll(batch: Held[], reason: DeadLetterReason, detail: string): Promise<void> {
    for (const held of batch) await this.deadLetter(held, reason, detail);
  }

  private async deadLetter(held: Held, reason: DeadLetterReason, detail: string): Promise<void> {
    this.deps.metrics.forwarded.inc({
      peer: this.deps.routing.nextHop(this.destination) ?? "",
      outcome: "failed",
    });
    const via = viaOf(held.delivery.message);
    await this.deadLetterOne(held, {
      reason,
      detail: `${detail} (hops: ${[...via, this.deps.ownDomain].join(" -> ")})`,
    });
  }

  /** Acks held messages with one store call; a lease lost meanwhile is not an error (as in `deadLetterOne`). */
  private async ackAll(batch: Held[]): Promise<void> {
    if (batch.length === 0) return;
    for (const held of batch) this.held.delete(held.delivery.leaseId);
    try {
      // A lease reported failed (LEASE_NOT_FOUND, LEASE_EXPIRED) was taken over by another replica, which will
      // forward the message again; the peer dedupes by id. So failures need nothing here.
      await this.deps.store.ackMany(
        batch.map((held) => held.delivery.leaseId),
        { actor: this.deps.actor },
      );
    } catch (error) {
      this.deps.log.warn(
        { err: error, destination: this.destination, count: batch.length },
        "cannot settle outbox leases",
      );
    }
  }

  /** Dead-letters one held message in the source store; a lease lost meanwhile is not an error. Acks go through `ackAll`. */
  private async deadLetterOne(
    held: Held,
    deadLetter: { reason: DeadLetterReason; detail: string },
  ): Promise<void> {
    this.held.delete(held.delivery.leaseId);
    try {
      await this.deps.store.nack(held.delivery.leaseId, {
        deadLetterReason: deadLetter.reason,
        reason: deadLetter.detail,
        actor: this.deps.actor,
      });
      this.deps.log.warn(
        { id: held.delivery.message.id, destination: this.destination, reason: deadLetter.reason },
        `dead-lettered: ${deadLetter.detail}`,
      );
    } catch (error) {
      if (error instanceof BmnError && (error.code === "LEASE_NOT_FOUND" || error.code === "LEASE_EXPIRED")) {
        // Another replica took the message over (it will forward it; the peer dedupes by id).
        return;
      }
      this.deps.log.warn({ err: error, id: held.delivery.message.id }, "cannot settle an outbox lease");
    }
  }

  private async extendLeases(): Promise<void> {
    await Promise.all(
      [...this.held.values()].map(async (held) => {
        try {
          await this.deps.store.extendLease(held.delivery.leaseId, this.leaseMs);
        } catch (error) {
          if (
            error instanceof BmnError &&
            (error.code === "LEASE_NOT_FOUND" || error.code === "LEASE_EXPIRED")
          ) {
            this.held.delete(held.delivery.leaseId);
            this.pending = this.pending.filter((item) => item !== held);
          }
        }
      }),
    );
  }

  /** Gives back every lease still held, without delay, so the messages are forwarded again at once. */
  private async releaseAll(): Promise<void> {
    const held = [...this.held.values()];
    this.held.clear();
    this.pending = [];
    await Promise.all(
      held.map((item) =>
        this.deps.store
          .nack(item.delivery.leaseId, {
            delayMs: 0,
            reason: "gateway shutting down",
            actor: this.deps.actor,
          })
          .catch(() => undefined),
      ),
    );
  }

  /** Waits `ms`, cut short when the gateway stops (unless `interruptible` is false). */
  private pause(ms: number, interruptible = true): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    return new Promise((resolve) => {
      const signal = this.stop.signal;
      const done = (): void => {
        clearTimeout(timer);
        signal.removeEventListener("abort", done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      if (interruptible) signal.addEventListener("abort", done, { once: true });
    });
  }
}
