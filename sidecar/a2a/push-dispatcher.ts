import type { FastifyBaseLogger } from "fastify";
import type { A2aConfig } from "../../core/a2a-config.js";
import type { A2aPushConfig, A2aStreamResponse } from "../../core/api/a2a-api.js";
import { createMessage } from "../../core/envelope.js";
import { A2A_PUSH_QUEUE } from "../../core/names.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { CircuitBreaker, CircuitOpenError } from "../../runtime/resilience/circuit-breaker.js";
import type { A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { AddressForbiddenError, guardedPost } from "./guarded-post.js";
import { checkPushUrlLiteral, isPrivateAddress } from "./push-url-policy.js";
import { QueueWorker } from "./queue-worker.js";

export const PUSH_EVENT_TYPE = "network.beastmode.a2a.push";
/** A webhook's answer is read at most this far: only its status counts. */
const MAX_WEBHOOK_ANSWER_BYTES = 64 * 1024;
/** Webhook origins with a breaker kept at most; the oldest is forgotten beyond. */
const MAX_BREAKERS = 10_000;

interface PushData {
  taskId: string;
  configId: string;
  seq: number;
  event: A2aStreamResponse;
}

/**
 * Push notifications through the durable outbox `bmn.a2a.push`: each task event is queued once per push config
 * (its dedupe key is task, config and seq), and every sidecar of the domain sends from that queue as competing
 * consumers. A failed POST is nacked with exponential backoff; after `maxAttempts` the notification is
 * dead-lettered `max-attempts`; a URL that turns out private is dead-lettered `forbidden`. A breaker per webhook
 * origin holds notifications back while the webhook keeps failing. `bmn trace` shows each attempt.
 */
export class PushDispatcher {
  private readonly breakers = new Map<string, CircuitBreaker>();
  private readonly worker: QueueWorker;

  constructor(
    private readonly store: MessageStore,
    private readonly tasks: A2aTaskStore,
    private readonly config: A2aConfig["push"],
    private readonly domain: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.worker = new QueueWorker({
      store,
      queue: A2A_PUSH_QUEUE,
      max: config.concurrency,
      leaseMs: config.timeoutMs + 30_000,
      actor: "a2a-push",
      log,
      handle: async (deliveries) => {
        await Promise.all(deliveries.map((delivery) => this.deliver(delivery)));
      },
    });
  }

  /** Queues one notification per push config of the task (durable before this resolves). */
  async enqueue(taskId: string, seq: number, event: A2aStreamResponse): Promise<void> {
    const configs = await this.tasks.listPushConfigs(taskId);
    for (const json of configs) {
      const config = JSON.parse(json) as A2aPushConfig;
      const data: PushData = { taskId, configId: config.id, seq, event };
      const message = createMessage(
        {
          type: PUSH_EVENT_TYPE,
          datacontenttype: "application/json",
          correlationid: taskId,
          dedupekey: `a2a-push:${taskId}:${config.id}:${String(seq)}`,
          data: data as unknown as Record<string, unknown>,
        },
        { source: `bmn://${this.domain}/a2a`, maxBytes: Number.MAX_SAFE_INTEGER },
      );
      await this.store.enqueue(A2A_PUSH_QUEUE, message, { actor: "a2a-push" });
    }
  }

  start(): void {
    this.worker.start();
  }

  async stop(): Promise<void> {
    await this.worker.stop();
  }

  private async deliver(delivery: Delivery): Promise<void> {
    try {
      await this.attempt(delivery);
    } catch (error) {
      // A store error while settling: the lease runs out and the notification comes again.
      this.log.warn({ err: error, messageId: delivery.message.id }, "a2a push: settling failed");
    }
  }

  private async attempt(delivery: Delivery): Promise<void> {
    const data = delivery.message.data as unknown as PushData;
    const json = await this.tasks.readPushConfig(data.taskId, data.configId);
    if (json === undefined) {
      // The config was deleted (or the task's retention ended): nothing to send any more.
      await this.store.ack(delivery.leaseId, { actor: "a2a-push" });
      return;
    }
    const config = JSON.parse(json) as A2aPushConfig;
    try {
      checkPushUrlLiteral(config.url, this.config.allowPrivateUrls);
    } catch (error) {
      await this.forbidden(delivery, error instanceof Error ? error.message : String(error));
      return;
    }
    const breaker = this.breakerOf(new URL(config.url).origin);
    let permit;
    try {
      permit = breaker.acquire();
    } catch (error) {
      const waitMs = error instanceof CircuitOpenError ? error.retryAfterMs : this.config.breakerOpenMs;
      await this.retry(delivery, `circuit open for ${new URL(config.url).origin}`, waitMs);
      return;
    }
    let failure: string | undefined;
    try {
      const status = await guardedPost(config.url, {
        headers: { "content-type": "application/a2a+json", ...authHeaders(config) },
        body: JSON.stringify(data.event),
        signal: AbortSignal.any([AbortSignal.timeout(this.config.timeoutMs), this.worker.signal]),
        allowAddress: (address) => this.config.allowPrivateUrls || !isPrivateAddress(address),
        maxResponseBytes: MAX_WEBHOOK_ANSWER_BYTES,
      });
      if (status < 200 || status > 299) failure = `HTTP ${String(status)}`;
    } catch (error) {
      if (error instanceof AddressForbiddenError) {
        permit.success(); // the webhook did not fail: it was never called
        await this.forbidden(
          delivery,
          `push URL ${config.url}: ${error.message}, which a2a.push.allowPrivateUrls forbids`,
        );
        return;
      }
      // A DNS error is a failure like any other: retried with backoff, dead-lettered only after maxAttempts.
      failure = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
    if (failure === undefined) {
      permit.success();
      await this.store.ack(delivery.leaseId, { actor: "a2a-push" });
      return;
    }
    permit.failure();
    await this.retry(delivery, failure);
  }

  private async forbidden(delivery: Delivery, reason: string): Promise<void> {
    await this.store.nack(delivery.leaseId, { deadLetterReason: "forbidden", reason, actor: "a2a-push" });
  }

  private async retry(delivery: Delivery, reason: string, atLeastMs = 0): Promise<void> {
    if (delivery.attempt >= this.config.maxAttempts) {
      await this.store.nack(delivery.leaseId, {
        deadLetterReason: "max-attempts",
        reason,
        actor: "a2a-push",
      });
      return;
    }
    const delayMs = Math.max(
      atLeastMs,
      fullJitterBackoffMs(delivery.attempt, this.config.backoffBaseMs, this.config.backoffMaxMs),
    );
    await this.store.nack(delivery.leaseId, { delayMs, reason, actor: "a2a-push" });
  }

  private breakerOf(origin: string): CircuitBreaker {
    let breaker = this.breakers.get(origin);
    if (breaker === undefined) {
      if (this.breakers.size >= MAX_BREAKERS) {
        const oldest = this.breakers.keys().next().value;
        if (oldest !== undefined) this.breakers.delete(oldest);
      }
      breaker = new CircuitBreaker({
        failureThreshold: this.config.breakerFailures,
        openMs: this.config.breakerOpenMs,
        guards: `webhook ${origin}`,
      });
      this.breakers.set(origin, breaker);
    }
    return breaker;
  }
}

/** The spec's push authentication: `authentication` as an Authorization header, else the token header. */
function authHeaders(config: A2aPushConfig): Record<string, string> {
  const { authentication } = config;
  if (authentication?.credentials !== undefined && authentication.credentials !== "")
    return { authorization: `${authentication.scheme} ${authentication.credentials}` };
  if (config.token !== undefined && config.token !== "") return { "x-a2a-notification-token": config.token };
  return {};
}
