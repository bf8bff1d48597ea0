import { randomBytes } from "node:crypto";
import type { FastifyBaseLogger } from "fastify";
import type { A2aConfig, A2aRemoteConfig } from "../../core/a2a-config.js";
import {
  a2aMessageSchema,
  a2aRoutes,
  a2aStreamResponseSchema,
  a2aTaskSchema,
  INTERRUPTED_STATES,
  JSON_RPC_ERRORS,
  TERMINAL_STATES,
  type A2aTask,
  type AgentCard,
} from "../../core/api/a2a-api.js";
import { BmnError, UnauthenticatedError } from "../../core/errors.js";
import { fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { tokenMatcher } from "../../runtime/http/secret-token.js";
import type { A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import type { Delivery, MessageStore } from "../../store/store.js";
import { QueueWorker } from "./queue-worker.js";
import { callRemote, fetchRemoteCard, jsonRpcUrl, RemoteRefusal, streamRemote } from "./remote-client.js";
import {
  parseLink,
  relayRemoteEvent,
  isStatusEvent,
  remoteTaskOf,
  statusOf,
  type RemoteEvent,
  type RemoteLink,
} from "./remote-events.js";
import { isTerminal, stateOf, statusChange } from "./task-record.js";
import type { TaskService } from "./task-service.js";

/** Calls to remotes in flight at once per remote (streams stay open while a remote works). */
const MAX_IN_FLIGHT = 8;
/** The id of the push config the bridge registers on a remote task (one per task: registering again replaces it). */
const PUSH_CONFIG_ID = "bmn-bridge";

/**
 * The bridge to outside A2A agents (`a2a.remotes`): each remote has a BMN queue like any local agent, and this
 * worker takes its messages and cancels to the remote. A task's first message starts a remote task
 * (SendStreamingMessage) whose id the store keeps as the task's remote link; later messages (after
 * input-required) go to that remote task, and a cancel calls CancelTask on it. The remote's events, from its
 * stream and, when its card offers them, its push notifications (authenticated by a per-task token), become
 * events of the local task, each once. A call that fails is nacked with backoff; after `maxAttempts` the message
 * is dead-lettered `max-attempts`; a JSON-RPC error from the remote fails the task and dead-letters `rejected`.
 */
export class RemoteBridge {
  private readonly workers: QueueWorker[];
  private readonly stopping = new AbortController();
  private readonly inFlight = new Map<string, Set<Promise<void>>>();

  constructor(
    private readonly store: MessageStore,
    private readonly service: TaskService,
    private readonly tasks: A2aTaskStore,
    private readonly config: A2aConfig,
    /** Where remotes reach this sidecar: the base of the push URLs the bridge registers. */
    private readonly pushBaseUrl: string,
    private readonly log: FastifyBaseLogger,
  ) {
    this.workers = Object.entries(config.remotes).map(([name, remote]) => {
      const running = new Set<Promise<void>>();
      this.inFlight.set(name, running);
      return new QueueWorker({
        store: this.store,
        queue: name,
        max: () => Math.max(1, MAX_IN_FLIGHT - running.size),
        leaseMs: remote.timeoutMs + 30_000,
        actor: `a2a-bridge:${name}`,
        log,
        // Each delivery runs on its own, so a cancel is not stuck behind the open stream of its task's message.
        handle: async (deliveries) => {
          for (const delivery of deliveries) {
            const work = this.deliver(name, remote, delivery).finally(() => running.delete(work));
            running.add(work);
          }
          while (running.size >= MAX_IN_FLIGHT) await Promise.race(running);
        },
      });
    });
  }

  start(): void {
    for (const worker of this.workers) worker.start();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await Promise.all(this.workers.map((worker) => worker.stop()));
    await Promise.all([...this.inFlight.values()].flatMap((running) => [...running]));
  }

  /**
   * A push notification from a remote about the task linked to `taskId`. Refused (401) unless it carries the
   * token the bridge generated for this task; an unknown task is refused the same way, so it reveals nothing.
   */
  async acceptPush(taskId: string, token: string | undefined, body: Buffer): Promise<void> {
    const link = parseLink(await this.tasks.readRemoteLink(taskId));
    if (link?.pushToken === undefined || !tokenMatcher(link.pushToken)(token))
      throw new UnauthenticatedError(
        `a push notification for task ${taskId} needs the token this sidecar registered (X-A2A-Notification-Token)`,
      );
    let json: unknown;
    try {
      json = JSON.parse(body.toString("utf8"));
    } catch {
      throw new BmnError("INVALID_ARGUMENT", "the push notification is not JSON", { field: "body" });
    }
    const parsed = a2aStreamResponseSchema.safeParse(json);
    if (!parsed.success)
      throw new BmnError(
        "INVALID_ARGUMENT",
        "the push notification is not one A2A task, message, statusUpdate or artifactUpdate",
        { field: "body" },
      );
    if (remoteTaskOf(parsed.data)?.taskId !== link.taskId)
      throw new BmnError(
        "INVALID_ARGUMENT",
        `the push notification is not about remote task ${link.taskId}`,
        {
          field: "taskId",
        },
      );
    await relayRemoteEvent(this.service, taskId, parsed.data, this.config.maxHistory);
  }

  private async deliver(name: string, remote: A2aRemoteConfig, delivery: Delivery): Promise<void> {
    const actor = `a2a-bridge:${name}`;
    const data = delivery.message.data as { kind?: string; taskId?: string; message?: unknown } | undefined;
    const taskId = typeof data?.taskId === "string" ? data.taskId : undefined;
    try {
      const signal = AbortSignal.any([AbortSignal.timeout(remote.timeoutMs), this.stopping.signal]);
      if (taskId !== undefined && data?.kind === "message")
        await this.forwardMessage(name, remote, delivery, taskId, data.message, signal);
      else if (taskId !== undefined && data?.kind === "cancel")
        await this.forwardCancel(remote, delivery.message.id, taskId, signal);
      await this.store.ack(delivery.leaseId, { actor });
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      try {
        if (error instanceof RemoteRefusal) {
          if (taskId !== undefined) await this.fail(taskId, `${delivery.message.id}.refused`, reason);
          await this.store.nack(delivery.leaseId, { deadLetterReason: "rejected", reason, actor });
        } else if (delivery.attempt >= remote.maxAttempts) {
          await this.store.nack(delivery.leaseId, { deadLetterReason: "max-attempts", reason, actor });
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

  /** Fails the local task with the remote's refusal (nothing happens to a task that has ended already). */
  private async fail(taskId: string, eventId: string, reason: string): Promise<void> {
    await this.service
      .append(taskId, eventId, (record) =>
        statusChange(
          record,
          {
            state: "TASK_STATE_FAILED",
            message: { messageId: eventId, role: "ROLE_AGENT", parts: [{ text: reason }] },
          },
          { maxHistory: this.config.maxHistory },
        ),
      )
      .catch(() => undefined);
  }

  /**
   * A message of the task: the first one starts a remote task (which the store then links to this one), a later
   * one goes to the linked remote task. The remote's stream is relayed until the task ends or waits for input.
   */
  private async forwardMessage(
    name: string,
    remote: A2aRemoteConfig,
    delivery: Delivery,
    taskId: string,
    message: unknown,
    signal: AbortSignal,
  ): Promise<void> {
    const current = await this.service.get(taskId);
    if (current === undefined) return;
    let link = parseLink(await this.tasks.readRemoteLink(taskId));
    if (isTerminal(stateOf(current.record))) {
      // Ended here before the remote heard of this message: nothing to send, and a remote task is canceled too.
      if (stateOf(current.record) === "TASK_STATE_CANCELED")
        await this.forwardCancel(remote, delivery.message.id, taskId, signal);
      return;
    }
    const parsed = a2aMessageSchema.safeParse(message);
    if (!parsed.success) throw new RemoteRefusal("the task's message is not an A2A message");
    // The remote makes its own task and context: the local ids stay local, the linked remote ones go instead.
    const { taskId: _local, contextId: _context, ...outgoing } = parsed.data;
    const card = await fetchRemoteCard(remote, signal);
    const url = jsonRpcUrl(card, remote.cardUrl);
    // A retry after an attempt that reached the remote (its stream broke, or a sidecar died holding the lease)
    // follows the remote task instead of sending the message again.
    const reached =
      link !== undefined && delivery.attempt > 1
        ? await this.remoteTaskWith(url, link, outgoing.messageId, signal)
        : undefined;
    const events =
      reached !== undefined && link !== undefined
        ? this.resume(url, delivery.message.id, link, reached, signal)
        : streamRemote(
            url,
            delivery.message.id,
            "SendStreamingMessage",
            {
              message:
                link === undefined
                  ? outgoing
                  : { ...outgoing, taskId: link.taskId, contextId: link.contextId },
            },
            signal,
          );
    for await (const result of events) {
      const event = a2aStreamResponseSchema.safeParse(result);
      if (!event.success)
        throw new RemoteRefusal("the remote sent an event that is not an A2A stream response");
      link ??= await this.link(name, card, url, taskId, event.data, signal);
      if (await relayRemoteEvent(this.service, taskId, event.data, this.config.maxHistory)) {
        // Canceled here while the remote worked (the event was not the remote's own end): cancel it there too.
        const after = await this.service.get(taskId);
        const remoteState = isStatusEvent(event.data) ? statusOf(event.data).state : undefined;
        const remoteEnded = remoteState !== undefined && TERMINAL_STATES.has(remoteState);
        if (
          link !== undefined &&
          !remoteEnded &&
          after !== undefined &&
          stateOf(after.record) === "TASK_STATE_CANCELED"
        )
          await this.forwardCancel(remote, `${delivery.message.id}.cancel`, taskId, signal);
        return;
      }
    }
  }

  /** The linked remote task, if its history holds the message `messageId` (the remote got it); else undefined. */
  private async remoteTaskWith(
    url: string,
    link: RemoteLink,
    messageId: string,
    signal: AbortSignal,
  ): Promise<A2aTask | undefined> {
    let result: unknown;
    try {
      result = await callRemote(url, `${link.taskId}.get`, "GetTask", { id: link.taskId }, signal);
    } catch (error) {
      // A remote that forgot the task did not keep the message either.
      if (error instanceof RemoteRefusal && error.code === JSON_RPC_ERRORS.TASK_NOT_FOUND) return undefined;
      throw error;
    }
    const task = a2aTaskSchema.safeParse(result);
    if (!task.success)
      throw new RemoteRefusal("the remote answered GetTask with something that is not a task");
    return task.data.history?.some((known) => known.messageId === messageId) === true ? task.data : undefined;
  }

  /**
   * The remote task from where it is: a task that has ended or waits for input gives its artifacts and status
   * (ids from their content, so what was relayed before adds nothing); one still working is subscribed to.
   */
  private async *resume(
    url: string,
    requestId: string,
    link: RemoteLink,
    task: A2aTask,
    signal: AbortSignal,
  ): AsyncGenerator {
    const { state } = task.status;
    if (!TERMINAL_STATES.has(state) && !INTERRUPTED_STATES.has(state)) {
      yield* streamRemote(url, requestId, "SubscribeToTask", { id: link.taskId }, signal);
      return;
    }
    const ids = { taskId: task.id, contextId: task.contextId };
    for (const artifact of task.artifacts ?? [])
      yield { artifactUpdate: { ...ids, artifact, lastChunk: true } };
    yield { statusUpdate: { ...ids, status: task.status } };
  }

  /**
   * Stores the link to the remote task the first event names (unless one is stored: another sidecar or an
   * earlier attempt won) and, when the remote's card offers push notifications, registers a push config on it
   * with a fresh per-task token. A failed registration is logged: the stream carries the events anyway.
   */
  private async link(
    name: string,
    card: AgentCard,
    url: string,
    taskId: string,
    event: RemoteEvent,
    signal: AbortSignal,
  ): Promise<RemoteLink | undefined> {
    const remoteTask = remoteTaskOf(event);
    if (remoteTask === undefined) return undefined;
    const push = card.capabilities.pushNotifications;
    const proposed: RemoteLink = {
      remote: name,
      ...remoteTask,
      ...(push ? { pushToken: randomBytes(32).toString("base64url") } : {}),
    };
    const stored = await this.tasks.linkRemoteTask(taskId, JSON.stringify(proposed));
    const link = parseLink(stored);
    if (link?.pushToken === undefined || link.pushToken !== proposed.pushToken) return link;
    try {
      await callRemote(
        url,
        `${taskId}.push`,
        "CreateTaskPushNotificationConfig",
        {
          taskId: link.taskId,
          id: PUSH_CONFIG_ID,
          url: `${this.pushBaseUrl}${a2aRoutes.remotePush.url.replace(":taskId", encodeURIComponent(taskId))}`,
          token: link.pushToken,
        },
        signal,
      );
    } catch (error) {
      this.log.warn({ err: error, remote: name, taskId }, "a2a bridge: the remote refused a push config");
    }
    return link;
  }

  /** CancelTask on the linked remote task; a task the remote has finished or forgotten needs nothing more. */
  private async forwardCancel(
    remote: A2aRemoteConfig,
    requestId: string,
    taskId: string,
    signal: AbortSignal,
  ): Promise<void> {
    const link = parseLink(await this.tasks.readRemoteLink(taskId));
    // No link: the remote has no task for it yet, and the message will not be sent now that the task is canceled.
    if (link === undefined) return;
    const url = jsonRpcUrl(await fetchRemoteCard(remote, signal), remote.cardUrl);
    try {
      await callRemote(url, requestId, "CancelTask", { id: link.taskId }, signal);
    } catch (error) {
      const done = [JSON_RPC_ERRORS.TASK_NOT_CANCELABLE, JSON_RPC_ERRORS.TASK_NOT_FOUND] as number[];
      if (error instanceof RemoteRefusal && error.code !== undefined && done.includes(error.code)) return;
      throw error;
    }
  }
}
