import type { FastifyBaseLogger } from "fastify";
import type { A2aConfig, A2aRemoteConfig } from "../../core/a2a-config.js";
import {
  a2aArtifactSchema,
  a2aMessageSchema,
  taskStateSchema,
  type A2aStreamResponse,
  type AgentCard,
} from "../../core/api/a2a-api.js";
import { isBmnError } from "../../core/errors.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { QueueWorker } from "./queue-worker.js";
import { artifactChange, statusChange } from "./task-record.js";
import type { TaskService } from "./task-service.js";

type RemoteConfig = A2aRemoteConfig;

/** A remote stream's bytes held while one event is incomplete, at most. */
const MAX_EVENT_BYTES = 8 * 1024 * 1024;

/** The remote refused the request for good (a JSON-RPC error): retrying would not help. */
class RemoteRefusal extends Error {}

/** The remote's card, as configured: the JSON-RPC endpoint is what the bridge calls. */
export async function fetchRemoteCard(remote: RemoteConfig, signal?: AbortSignal): Promise<AgentCard> {
  const response = await fetch(remote.cardUrl, {
    headers: { accept: "application/json", "a2a-version": "1.0" },
    signal: signal ?? AbortSignal.timeout(10_000),
  });
  if (!response.ok) throw new Error(`agent card ${remote.cardUrl}: HTTP ${String(response.status)}`);
  return (await response.json()) as AgentCard;
}

function jsonRpcUrl(card: AgentCard, cardUrl: string): string {
  const found = card.supportedInterfaces.find((entry) => entry.protocolBinding.toUpperCase() === "JSONRPC");
  if (found === undefined) throw new RemoteRefusal(`the agent card at ${cardUrl} lists no JSONRPC interface`);
  return found.url;
}

/** The SSE events of a response body, one parsed `data:` payload at a time. */
async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    if (buffer.length > MAX_EVENT_BYTES) throw new Error("the remote sent an SSE event over 8 MiB");
    for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data !== "") yield JSON.parse(data) as unknown;
    }
  }
}

/**
 * The bridge to outside A2A agents (`a2a.remotes`): each remote has a BMN queue like any local agent, and this
 * worker takes its messages, sends them to the remote with SendStreamingMessage and relays the remote's events
 * into the local task. A call that fails is nacked with backoff; after `maxAttempts` the message is dead-lettered
 * `max-attempts`; a JSON-RPC error from the remote fails the task and dead-letters the message `rejected`.
 * Relayed events have ids from the BMN message and their place in the stream, so a retried call adds nothing twice.
 */
export class RemoteBridge {
  private readonly workers: QueueWorker[];
  private readonly stopping = new AbortController();

  constructor(
    private readonly store: MessageStore,
    private readonly service: TaskService,
    private readonly config: A2aConfig,
    private readonly log: FastifyBaseLogger,
  ) {
    this.workers = Object.entries(config.remotes).map(
      ([name, remote]) =>
        new QueueWorker({
          store: this.store,
          queue: name,
          max: 8,
          leaseMs: remote.timeoutMs + 30_000,
          actor: `a2a-bridge:${name}`,
          log,
          handle: async (deliveries) => {
            await Promise.all(deliveries.map((delivery) => this.deliver(name, remote, delivery)));
          },
        }),
    );
  }

  start(): void {
    for (const worker of this.workers) worker.start();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.workers.map((worker) => worker.stop()));
  }

  private async deliver(name: string, remote: RemoteConfig, delivery: Delivery): Promise<void> {
    const actor = `a2a-bridge:${name}`;
    const data = delivery.message.data as { kind?: string; taskId?: string; message?: unknown } | undefined;
    try {
      if (data?.kind !== "message" || typeof data.taskId !== "string") {
        // Cancels end the local task already; the remote's own task is left to finish.
        await this.store.ack(delivery.leaseId, { actor });
        return;
      }
      await this.call(remote, delivery, data.taskId, data.message);
      await this.store.ack(delivery.leaseId, { actor });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      try {
        if (error instanceof RemoteRefusal) {
          await this.relay(data?.taskId ?? "", `${delivery.message.id}.refused`, (record) =>
            statusChange(
              record,
              {
                state: "TASK_STATE_FAILED",
                message: {
                  messageId: `${delivery.message.id}.refused`,
                  role: "ROLE_AGENT",
                  parts: [{ text: reason }],
                },
              },
              { maxHistory: this.config.maxHistory },
            ),
          ).catch(() => undefined);
          await this.store.nack(delivery.leaseId, { deadLetterReason: "rejected", reason, actor });
        } else if (delivery.attempt >= remote.maxAttempts) {
          await this.store.nack(delivery.leaseId, {
            deadLetterReason: "max-attempts",
            reason,
            actor,
          });
        } else {
          const delayMs = fullJitterBackoffMs(delivery.attempt, remote.backoffBaseMs, remote.backoffMaxMs);
          await this.store.nack(delivery.leaseId, { delayMs, reason, actor });
        }
      } catch (settleError) {
        this.log.warn(
          { err: settleError, remote: name },
          "a2a bridge: settling failed; the lease will run out",
        );
      }
    }
  }

  private async call(
    remote: RemoteConfig,
    delivery: Delivery,
    taskId: string,
    message: unknown,
  ): Promise<void> {
    const signal = AbortSignal.any([AbortSignal.timeout(remote.timeoutMs), this.stopping.signal]);
    const card = await fetchRemoteCard(remote, signal);
    const parsed = a2aMessageSchema.safeParse(message);
    if (!parsed.success) throw new RemoteRefusal("the task's message is not an A2A message");
    // The remote makes its own task and context: the local ids stay local.
    const { taskId: _local, contextId: _context, ...outgoing } = parsed.data;
    const response = await fetch(jsonRpcUrl(card, remote.cardUrl), {
      method: "POST",
      headers: { "content-type": "application/json", accept: "text/event-stream", "a2a-version": "1.0" },
      body: JSON.stringify({
        jsonrpc: "2.0",
        id: delivery.message.id,
        method: "SendStreamingMessage",
        params: { message: outgoing },
      }),
      signal,
    });
    if (!response.ok || response.body === null)
      throw new Error(`remote answered HTTP ${String(response.status)}`);
    if (!(response.headers.get("content-type") ?? "").startsWith("text/event-stream")) {
      const body = (await response.json()) as { error?: { code?: number; message?: string } };
      throw new RemoteRefusal(
        `remote refused: ${body.error?.message ?? "no stream"} (${String(body.error?.code)})`,
      );
    }
    let index = 0;
    for await (const frame of sseEvents(response.body)) {
      const rpc = frame as { result?: A2aStreamResponse; error?: { code?: number; message?: string } };
      if (rpc.error !== undefined)
        throw new RemoteRefusal(`remote failed: ${rpc.error.message ?? ""} (${String(rpc.error.code)})`);
      if (rpc.result === undefined) continue;
      const done = await this.relayEvent(taskId, `${delivery.message.id}.${String(index++)}`, rpc.result);
      if (done) return;
    }
  }

  /** Writes one remote event into the local task; true when the task is finished (or ended locally). */
  private async relayEvent(taskId: string, eventId: string, event: A2aStreamResponse): Promise<boolean> {
    const { maxHistory } = this.config;
    try {
      if ("task" in event || "statusUpdate" in event) {
        const status = "task" in event ? event.task.status : event.statusUpdate.status;
        const state = taskStateSchema.parse(status.state);
        if (state === "TASK_STATE_SUBMITTED") return false;
        const message = status.message === undefined ? undefined : a2aMessageSchema.parse(status.message);
        await this.relay(taskId, eventId, (record) =>
          statusChange(record, { state, message }, { maxHistory }),
        );
        return [
          "TASK_STATE_COMPLETED",
          "TASK_STATE_FAILED",
          "TASK_STATE_CANCELED",
          "TASK_STATE_REJECTED",
          "TASK_STATE_INPUT_REQUIRED",
          "TASK_STATE_AUTH_REQUIRED",
        ].includes(state);
      }
      if ("artifactUpdate" in event) {
        const artifact = a2aArtifactSchema.parse(event.artifactUpdate.artifact);
        const { append, lastChunk } = event.artifactUpdate;
        await this.relay(taskId, eventId, (record) =>
          artifactChange(record, artifact, { append, lastChunk }),
        );
        return false;
      }
      // A plain message answers the task at once.
      const message = a2aMessageSchema.parse(event.message);
      await this.relay(taskId, eventId, (record) =>
        statusChange(record, { state: "TASK_STATE_COMPLETED", message }, { maxHistory }),
      );
      return true;
    } catch (error) {
      if (isBmnError(error) && error.code === "TASK_TERMINAL") return true;
      throw error;
    }
  }

  private async relay(
    taskId: string,
    eventId: string,
    change: Parameters<TaskService["append"]>[2],
  ): Promise<void> {
    await this.service.append(taskId, eventId, change);
  }
}
