import { BmnClientError, isBmnClientError } from "./errors.js";
import type { Delivery, Message, NackOptions, ReceiveOptions } from "./types.js";

/** What a stream needs from the client. */
export interface LeaseOps {
  receive(options: ReceiveOptions): Promise<Delivery[]>;
  ack(leaseId: string): Promise<void>;
  nack(leaseId: string, options?: NackOptions): Promise<void>;
  extend(leaseId: string, leaseMs: number): Promise<{ leaseExpiresAt: number }>;
}

export interface MessagesOptions {
  /** Whose queue; defaults to the client's `agent`. */
  agent?: string | undefined;
  /**
   * Ack each message when the loop asks for the next one, i.e. once the loop body finished without throwing.
   * Default false: call `ack()` or `nack()` yourself.
   */
  autoAck?: boolean | undefined;
  /** Deliveries fetched per long poll (default 10). They are leased while they wait in the stream's buffer. */
  max?: number | undefined;
  /** How long one long poll waits for a message (default 20 s). */
  waitSeconds?: number | undefined;
  /** Lease per delivery (sidecar default 30 s). */
  leaseSeconds?: number | undefined;
  /** Aborting it is the same as `close()`. */
  signal?: AbortSignal | undefined;
}

/** Turns a raw message into what the stream yields, or refuses it (the stream then dead-letters it). */
export type Prepare<M> = (message: Message) => { ok: true; message: M } | { ok: false; reason: string };

const DEFAULT_MAX = 10;
const DEFAULT_WAIT_SECONDS = 20;
const RETRY_MIN_MS = 250;
const RETRY_MAX_MS = 5_000;

/** Lease errors mean the sidecar has already taken the message back; settling it again is pointless. */
function isLeaseGone(error: unknown): boolean {
  return (
    isBmnClientError(error) && (error.errorCode === "LEASE_NOT_FOUND" || error.errorCode === "LEASE_EXPIRED")
  );
}

/** The sidecar asks us to come back later: overloaded, or its store is unavailable. */
function isBusy(error: unknown): error is BmnClientError {
  return (
    isBmnClientError(error) && (error.errorCode === "OVERLOADED" || error.errorCode === "STORE_UNAVAILABLE")
  );
}

/** One leased message. Settle it exactly once with `ack()` or `nack()`. */
export class ReceivedMessage<M = Message> {
  private state: "unsettled" | "acked" | "nacked" = "unsettled";
  private expiresAt: number;

  constructor(
    private readonly ops: LeaseOps,
    private readonly delivery: Delivery,
    readonly message: M,
    private readonly onSettled: (received: ReceivedMessage<M>) => void = () => undefined,
    private readonly onReopened: (received: ReceivedMessage<M>) => void = () => undefined,
  ) {
    this.expiresAt = delivery.leaseExpiresAt;
  }

  get leaseId(): string {
    return this.delivery.leaseId;
  }

  /** 1 on first delivery, higher on redeliveries. */
  get attempt(): number {
    return this.delivery.attempt;
  }

  get leaseExpiresAt(): number {
    return this.expiresAt;
  }

  get settled(): boolean {
    return this.state !== "unsettled";
  }

  /** Removes the message for good. */
  async ack(): Promise<void> {
    await this.settle("acked", () => this.ops.ack(this.leaseId));
  }

  /** Gives the message back: redelivered after `delayMs` (or the sidecar's backoff), or dead-lettered. */
  async nack(options: NackOptions = {}): Promise<void> {
    await this.settle("nacked", () => this.ops.nack(this.leaseId, options));
  }

  /** Keeps the lease for `leaseMs` more milliseconds from now; answers the new expiry (epoch ms). */
  async extend(leaseMs: number): Promise<number> {
    const { leaseExpiresAt } = await this.ops.extend(this.leaseId, leaseMs);
    this.expiresAt = leaseExpiresAt;
    return leaseExpiresAt;
  }

  /** @internal A transaction acked it (or gave it back on rollback); the stream must not settle it again. */
  markSettled(settled: boolean): void {
    this.state = settled ? "acked" : "unsettled";
    if (settled) this.onSettled(this);
    else this.onReopened(this);
  }

  private async settle(next: "acked" | "nacked", call: () => Promise<void>): Promise<void> {
    if (this.state !== "unsettled") {
      throw new BmnClientError(
        "ALREADY_SETTLED",
        `message ${this.delivery.message.id} (lease ${this.leaseId}) was already ${this.state}`,
      );
    }
    this.state = next;
    try {
      await call();
    } catch (error) {
      // When the lease is gone the message is settled either way; anything else may be retried.
      if (!isLeaseGone(error)) this.state = "unsettled";
      throw error;
    } finally {
      if (this.state !== "unsettled") this.onSettled(this);
    }
  }
}

/**
 * An async iterable of leased messages, fed by long polls. Like a nats.js subscription:
 * - `drain()` stops fetching and lets the loop finish the messages already fetched; `closed` then resolves once
 *   every message the loop was given is settled;
 * - `close()` stops now: every unsettled message, fetched or in the loop's hands, is nacked with delay 0.
 * Leaving the loop early (`break`, `return` or a throw) is `close()`.
 *
 * A poll that is cut short by `drain()` or `close()` may already have leased messages on the sidecar; those come back
 * once their lease expires (at-least-once, never lost).
 */
export class MessageStream<M = Message> implements AsyncIterable<ReceivedMessage<M>> {
  private state: "open" | "draining" | "closed" = "open";
  private readonly buffer: Delivery[] = [];
  private readonly inHand = new Set<ReceivedMessage<M>>();
  private poll: AbortController | undefined;
  private iterating = false;
  private resolveClosed!: () => void;
  private readonly closedPromise: Promise<void>;
  private readonly releases = new Set<Promise<unknown>>();

  constructor(
    private readonly ops: LeaseOps,
    private readonly options: MessagesOptions,
    private readonly prepare: Prepare<M>,
  ) {
    this.closedPromise = new Promise((resolve) => (this.resolveClosed = resolve));
    const { signal } = options;
    if (signal !== undefined) {
      if (signal.aborted) this.state = "closed";
      else signal.addEventListener("abort", () => void this.close(), { once: true });
    }
    this.checkClosed();
  }

  /** Resolves once the stream has stopped and holds no unsettled message. */
  get closed(): Promise<void> {
    return this.closedPromise;
  }

  /** How many fetched messages wait in the buffer, not yet given to the loop. */
  get pending(): number {
    return this.buffer.length;
  }

  [Symbol.asyncIterator](): AsyncIterator<ReceivedMessage<M>> {
    if (this.iterating)
      throw new BmnClientError("ALREADY_ITERATING", "a message stream can be iterated only once");
    this.iterating = true;
    return this.run();
  }

  /**
   * Stops fetching; the loop still gets what was already fetched, then ends. Resolves at once, so it is safe to
   * await inside the loop; await `closed` to know when every message the loop got is settled.
   */
  async drain(): Promise<void> {
    if (this.state === "open") this.state = this.iterating ? "draining" : "closed";
    this.poll?.abort();
    this.checkClosed();
    return Promise.resolve();
  }

  /** Stops now and gives back (nack, delay 0) every unsettled message. */
  async close(): Promise<void> {
    if (this.state !== "closed") {
      this.state = "closed";
      this.poll?.abort();
      this.releaseAll();
    }
    await this.settleReleases();
    this.checkClosed();
    return this.closedPromise;
  }

  private async *run(): AsyncGenerator<ReceivedMessage<M>, void, undefined> {
    let retryMs = RETRY_MIN_MS;
    let ended = false; // true when the loop ran out of messages, false when the consumer left early
    try {
      for (;;) {
        const delivery = this.buffer.shift();
        if (delivery === undefined) {
          if (this.state !== "open") {
            ended = true;
            return;
          }
          try {
            this.buffer.push(...(await this.fetchMore()));
            retryMs = RETRY_MIN_MS;
          } catch (error) {
            if (!isBusy(error)) throw error;
            const delay = error.retryAfterSeconds === undefined ? retryMs : error.retryAfterSeconds * 1000;
            retryMs = Math.min(retryMs * 2, RETRY_MAX_MS);
            await this.pause(Math.min(delay, RETRY_MAX_MS * 6));
          }
          continue;
        }
        if (this.state === "closed") {
          this.release(delivery.leaseId);
          continue;
        }
        const prepared = this.prepare(delivery.message);
        if (!prepared.ok) {
          await this.ops
            .nack(delivery.leaseId, { deadLetter: true, reason: prepared.reason })
            .catch((error: unknown) => {
              if (!isLeaseGone(error)) throw error;
            });
          continue;
        }
        const received = new ReceivedMessage<M>(
          this.ops,
          delivery,
          prepared.message,
          (done) => {
            this.inHand.delete(done);
            this.checkClosed();
          },
          (reopened) => this.inHand.add(reopened),
        );
        this.inHand.add(received);
        yield received;
        if (this.options.autoAck === true && !received.settled) {
          await received.ack().catch((error: unknown) => {
            if (!isLeaseGone(error)) throw error;
          });
        }
      }
    } finally {
      // A drain that ran out of messages waits for the loop to settle what it holds; anything else gives all back.
      const drained = ended && this.state === "draining";
      this.state = "closed";
      if (!drained) {
        this.poll?.abort();
        this.releaseAll();
      }
      await this.settleReleases();
      this.checkClosed();
    }
  }

  private async fetchMore(): Promise<Delivery[]> {
    const controller = new AbortController();
    this.poll = controller;
    try {
      return await this.ops.receive({
        agent: this.options.agent,
        max: this.options.max ?? DEFAULT_MAX,
        waitSeconds: this.options.waitSeconds ?? DEFAULT_WAIT_SECONDS,
        leaseSeconds: this.options.leaseSeconds,
        signal: controller.signal,
      });
    } catch (error) {
      if (controller.signal.aborted) return [];
      throw error;
    } finally {
      if (this.poll === controller) this.poll = undefined;
    }
  }

  private async pause(ms: number): Promise<void> {
    const controller = new AbortController();
    this.poll = controller;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      controller.signal.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
    if (this.poll === controller) this.poll = undefined;
  }

  private releaseAll(): void {
    for (const delivery of this.buffer.splice(0)) this.release(delivery.leaseId);
    for (const received of [...this.inHand]) {
      if (received.settled) continue;
      const release = received.nack({ delayMs: 0 }).catch(() => undefined);
      this.track(release);
    }
  }

  private release(leaseId: string): void {
    this.track(this.ops.nack(leaseId, { delayMs: 0 }).catch(() => undefined));
  }

  private track(promise: Promise<unknown>): void {
    this.releases.add(promise);
    void promise.finally(() => this.releases.delete(promise));
  }

  private async settleReleases(): Promise<void> {
    while (this.releases.size > 0) await Promise.allSettled([...this.releases]);
  }

  private checkClosed(): void {
    if (this.state === "closed" && this.inHand.size === 0 && this.releases.size === 0) this.resolveClosed();
  }
}
