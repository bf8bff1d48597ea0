import { createHash, randomUUID } from "node:crypto";
import type { z } from "zod";
import type { SidecarConfig } from "../../core/config.js";
import {
  A2A_CANCEL_TYPE,
  A2A_EVENTS_AGENT,
  A2A_MESSAGE_TYPE,
  JSON_RPC_ERRORS,
  type A2aMessage,
  type A2aPushConfig,
  type A2aTask,
  type SendMessageParams,
  type cancelTaskParamsSchema,
  type getTaskParamsSchema,
  type listPushConfigsParamsSchema,
  type pushConfigRefSchema,
  type pushConfigSchema,
  type taskIdParamsSchema,
} from "../../core/api/a2a-api.js";
import { createMessage, type Message } from "../../core/envelope.js";
import { isBmnError } from "../../core/errors.js";
import type { A2aTaskStore } from "../../store/roles/a2a-tasks.js";
import type { Router } from "../routing/router.js";
import type { AgentBinding } from "../server/agent-bound-store.js";
import { A2aError, invalidParams, taskNotFound } from "./a2a-error.js";
import type { PushDispatcher } from "./push-dispatcher.js";
import { checkPushUrlLiteral } from "./push-url-policy.js";
import type { StreamSlots } from "./stream-slots.js";
import type { TaskService } from "./task-service.js";
import {
  endsStream,
  followUpChange,
  isTerminal,
  stateOf,
  statusChange,
  taskView,
  type TaskRecord,
} from "./task-record.js";

/** Who calls: the agent addressed (`/a2a/{target}`), and the sender when the sidecar acts for one agent. */
export interface A2aCaller {
  target: string;
  from: string | undefined;
}

export interface A2aMethodsOptions {
  service: TaskService;
  tasks: A2aTaskStore;
  router: Router;
  config: SidecarConfig;
  binding: AgentBinding | undefined;
  push: PushDispatcher | undefined;
}

/** A task and the seq of the last event it reflects (where a stream of it goes on from). */
export interface TaskAt {
  record: TaskRecord;
  seq: number;
}

/** A stable id from its parts: a retried SendMessage (same sender, agent and messageId) finds the same task. */
function derivedId(...parts: string[]): string {
  const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

/**
 * The A2A operations, whatever the transport: a message becomes a durable BMN message to the agent (leased,
 * retried, dead-lettered like any other), the task and its events live in the store.
 */
export class A2aMethods {
  constructor(private readonly options: A2aMethodsOptions) {}

  private get a2a(): SidecarConfig["a2a"] {
    return this.options.config.a2a;
  }

  /** Creates the task (or adds a follow-up message to it) and hands the message to the agent. */
  async start(caller: A2aCaller, params: SendMessageParams): Promise<TaskAt> {
    const { message } = params;
    if (message.role !== "ROLE_USER")
      throw invalidParams("message.role must be ROLE_USER for a message sent to an agent");
    const pushConfig = params.configuration?.taskPushNotificationConfig;
    if (pushConfig !== undefined) this.checkPushConfig(pushConfig);
    const at =
      message.taskId === undefined
        ? await this.create(caller, params)
        : await this.followUp(caller, message, message.taskId);
    if (pushConfig !== undefined) await this.storePushConfig({ ...pushConfig, taskId: at.record.task.id });
    const { task } = at.record;
    await this.deliver(caller, A2A_MESSAGE_TYPE, at.record, message.messageId, {
      kind: "message",
      taskId: task.id,
      contextId: task.contextId,
      message: { ...message, taskId: task.id, contextId: task.contextId },
      ...(params.configuration?.acceptedOutputModes === undefined
        ? {}
        : { acceptedOutputModes: params.configuration.acceptedOutputModes }),
      ...(params.metadata === undefined ? {} : { metadata: params.metadata }),
    });
    return at;
  }

  private async create(caller: A2aCaller, params: SendMessageParams): Promise<TaskAt> {
    const { message } = params;
    const sender = caller.from ?? "";
    const id = derivedId("task", caller.target, sender, message.messageId);
    const contextId = message.contextId ?? derivedId("context", caller.target, sender, message.messageId);
    const task: A2aTask = {
      id,
      contextId,
      status: { state: "TASK_STATE_SUBMITTED", timestamp: new Date().toISOString() },
      history: [{ ...message, taskId: id, contextId }],
      ...(params.metadata === undefined ? {} : { metadata: params.metadata }),
    };
    const record: TaskRecord = { task, agent: caller.target, from: caller.from, createdAt: Date.now() };
    if (await this.options.service.create(record)) return { record, seq: 0 };
    // A retried send: the task exists already.
    return this.visible(caller, id);
  }

  private async followUp(caller: A2aCaller, message: A2aMessage, taskId: string): Promise<TaskAt> {
    const { record } = await this.visible(caller, taskId);
    if (message.contextId !== undefined && message.contextId !== record.task.contextId)
      throw invalidParams(`message.contextId ${message.contextId} is not the context of task ${taskId}`);
    if (isTerminal(stateOf(record)))
      throw new A2aError(
        JSON_RPC_ERRORS.UNSUPPORTED_OPERATION,
        `task ${taskId} is ${stateOf(record)}: a finished task takes no more messages`,
      );
    const result = await this.options.service.append(taskId, `message-${message.messageId}`, (current) =>
      followUpChange(current, { ...message, taskId, contextId: current.task.contextId }, this.a2a.maxHistory),
    );
    return { record: result.record, seq: result.seq };
  }

  /**
   * SendMessage: starts the task and, unless `returnImmediately`, waits until it finishes or stops for input,
   * holding one of the client's stream slots meanwhile (a blocking send holds its connection like a stream).
   */
  async send(
    caller: A2aCaller,
    params: SendMessageParams,
    wait: { slots: StreamSlots; client: string; signal: AbortSignal },
  ): Promise<{ task: A2aTask }> {
    const historyLength = params.configuration?.historyLength;
    if (params.configuration?.returnImmediately === true)
      return { task: taskView((await this.start(caller, params)).record.task, historyLength) };
    const release = wait.slots.acquire(wait.client);
    try {
      const settled = await this.settle(caller, await this.start(caller, params), wait.signal);
      return { task: taskView(settled.record.task, historyLength) };
    } finally {
      release();
    }
  }

  /** Waits (bounded) until the task finishes or stops for input, for a blocking SendMessage. */
  async settle(caller: A2aCaller, at: TaskAt, signal: AbortSignal): Promise<TaskAt> {
    const deadline = Date.now() + this.a2a.blockingWaitSeconds * 1_000;
    let current = at;
    while (!endsStream(stateOf(current.record)) && Date.now() < deadline && !signal.aborted) {
      await this.options.service.waitForChange(current.record.task.id, signal);
      current = await this.visible(caller, current.record.task.id);
    }
    return current;
  }

  async getTask(caller: A2aCaller, params: z.infer<typeof getTaskParamsSchema>): Promise<A2aTask> {
    const { record } = await this.visible(caller, params.id);
    return taskView(record.task, params.historyLength);
  }

  /** Tells the agent (a message) and ends the task `canceled`; a finished task is not cancelable. */
  async cancelTask(caller: A2aCaller, params: z.infer<typeof cancelTaskParamsSchema>): Promise<A2aTask> {
    const { record } = await this.visible(caller, params.id);
    if (isTerminal(stateOf(record))) throw this.notCancelable(record);
    await this.deliver(caller, A2A_CANCEL_TYPE, record, "cancel", {
      kind: "cancel",
      taskId: record.task.id,
      contextId: record.task.contextId,
      ...(params.metadata === undefined ? {} : { metadata: params.metadata }),
    });
    try {
      const result = await this.options.service.append(record.task.id, "cancel", (current) =>
        statusChange(current, { state: "TASK_STATE_CANCELED" }, { maxHistory: this.a2a.maxHistory }),
      );
      return result.record.task;
    } catch (error) {
      if (isBmnError(error) && error.code === "TASK_TERMINAL") {
        const latest = await this.visible(caller, params.id);
        throw this.notCancelable(latest.record);
      }
      throw error;
    }
  }

  /** The task to resubscribe to; a finished one has nothing more to stream. */
  async subscribable(caller: A2aCaller, params: z.infer<typeof taskIdParamsSchema>): Promise<TaskAt> {
    const at = await this.visible(caller, params.id);
    if (isTerminal(stateOf(at.record)))
      throw new A2aError(
        JSON_RPC_ERRORS.UNSUPPORTED_OPERATION,
        `task ${params.id} is ${stateOf(at.record)}: there is nothing more to stream`,
      );
    return at;
  }

  async createPushConfig(
    caller: A2aCaller,
    params: z.infer<typeof pushConfigSchema>,
  ): Promise<A2aPushConfig> {
    this.checkPushConfig(params);
    await this.visible(caller, params.taskId);
    return this.storePushConfig(params);
  }

  async getPushConfig(
    caller: A2aCaller,
    params: z.infer<typeof pushConfigRefSchema>,
  ): Promise<A2aPushConfig> {
    this.pushEnabled();
    await this.visible(caller, params.taskId);
    const json = await this.options.tasks.readPushConfig(params.taskId, params.id);
    if (json === undefined)
      throw invalidParams(`task ${params.taskId} has no push notification config ${params.id}`);
    return JSON.parse(json) as A2aPushConfig;
  }

  async listPushConfigs(
    caller: A2aCaller,
    params: z.infer<typeof listPushConfigsParamsSchema>,
  ): Promise<{ configs: A2aPushConfig[] }> {
    this.pushEnabled();
    await this.visible(caller, params.taskId);
    const configs = await this.options.tasks.listPushConfigs(params.taskId);
    return { configs: configs.map((json) => JSON.parse(json) as A2aPushConfig) };
  }

  async deletePushConfig(caller: A2aCaller, params: z.infer<typeof pushConfigRefSchema>): Promise<void> {
    this.pushEnabled();
    await this.visible(caller, params.taskId);
    if (!(await this.options.tasks.deletePushConfig(params.taskId, params.id)))
      throw invalidParams(`task ${params.taskId} has no push notification config ${params.id}`);
  }

  /**
   * The task, if this caller may see it: a task of the agent addressed and, on a sidecar bound to its agents,
   * one that agent sent or works on. Anything else is "not found", so ids of other agents' tasks reveal nothing.
   */
  async visible(caller: A2aCaller, taskId: string): Promise<TaskAt> {
    const found = await this.options.service.get(taskId);
    if (found?.record.agent !== caller.target || !this.mayRead(found.record)) throw taskNotFound(taskId);
    return found;
  }

  private mayRead(record: TaskRecord): boolean {
    const { binding } = this.options;
    if (binding === undefined) return true;
    return [record.from, record.agent].some((agent) => {
      try {
        binding.check(agent, "agent");
        return true;
      } catch {
        return false;
      }
    });
  }

  private notCancelable(record: TaskRecord): A2aError {
    return new A2aError(
      JSON_RPC_ERRORS.TASK_NOT_CANCELABLE,
      `task ${record.task.id} is ${stateOf(record)} and can no longer be canceled`,
    );
  }

  private pushEnabled(): void {
    if (!this.a2a.push.enabled || this.options.push === undefined)
      throw new A2aError(
        JSON_RPC_ERRORS.PUSH_NOTIFICATION_NOT_SUPPORTED,
        "push notifications are off on this sidecar (a2a.push.enabled)",
      );
  }

  private checkPushConfig(config: { url: string }): void {
    this.pushEnabled();
    try {
      checkPushUrlLiteral(config.url, this.a2a.push.allowPrivateUrls);
    } catch (error) {
      throw invalidParams(error instanceof Error ? error.message : String(error));
    }
  }

  private async storePushConfig(params: z.infer<typeof pushConfigSchema>): Promise<A2aPushConfig> {
    // Only the fields BMN acts on are kept.
    const config: A2aPushConfig = {
      id: params.id ?? randomUUID(),
      taskId: params.taskId,
      url: params.url,
      ...(params.token === undefined ? {} : { token: params.token }),
      ...(params.authentication === undefined
        ? {}
        : {
            authentication: {
              scheme: params.authentication.scheme,
              ...(params.authentication.credentials === undefined
                ? {}
                : { credentials: params.authentication.credentials }),
            },
          }),
    };
    const stored = await this.options.tasks.putPushConfig(
      config.taskId,
      config.id,
      JSON.stringify(config),
      this.a2a.push.maxConfigsPerTask,
    );
    if (stored === "full")
      throw invalidParams(
        `task ${config.taskId} has ${this.a2a.push.maxConfigsPerTask} push notification configs, the most allowed`,
      );
    return config;
  }

  /** A durable BMN message to the agent; a retried call (same task and message id) is accepted once. */
  private async deliver(
    caller: A2aCaller,
    type: string,
    record: TaskRecord,
    messageId: string,
    data: Record<string, unknown>,
  ): Promise<void> {
    // A task of this domain for an agent of another: the agent's reports come back to this domain's inbox.
    const replyTo = caller.target.includes("@")
      ? `${A2A_EVENTS_AGENT}@${this.options.config.domain}`
      : undefined;
    const message: Message = createMessage(
      {
        type,
        to: caller.target,
        ...(caller.from === undefined ? {} : { from: caller.from }),
        correlationid: record.task.id,
        dedupekey: `a2a:${record.task.id}:${messageId}`,
        datacontenttype: "application/json",
        data: replyTo === undefined ? data : { ...data, replyTo },
      },
      {
        source: `bmn://${this.options.config.domain}/a2a`,
        maxBytes: this.options.config.limits.maxMessageBytes,
      },
    );
    await this.options.router.send(message, { actor: caller.from ?? "a2a" });
  }
}
