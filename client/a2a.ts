import { A2A_CANCEL_TYPE, A2A_MESSAGE_TYPE } from "../core/api/a2a-message-types.js";
import type {
  A2aArtifact,
  A2aMessage,
  A2aTask,
  AgentCard,
  StoredTaskEvent,
  TaskEventBody,
  TaskState,
} from "../core/api/a2a-api.js";
import type { HttpTransport } from "./http.js";
import type { Message } from "./types.js";

export type { A2aArtifact, A2aMessage, A2aTask, AgentCard, StoredTaskEvent, TaskState };

export { A2A_CANCEL_TYPE, A2A_MESSAGE_TYPE };

/** What a delivered A2A message asks of the agent: work on a message, or stop (the task is canceled). */
export type A2aRequest =
  | {
      kind: "message";
      taskId: string;
      contextId: string;
      message: A2aMessage;
      acceptedOutputModes?: string[];
      metadata?: Record<string, unknown>;
      /** Set when the task lives in another domain: reports go there (pass the request to the helpers). */
      replyTo?: string;
    }
  | {
      kind: "cancel";
      taskId: string;
      contextId: string;
      metadata?: Record<string, unknown>;
      replyTo?: string;
    };

/** A task id, or the request itself (which also says where a task of another domain lives). */
export type TaskRef = string | A2aRequest;

export interface TaskEventResult {
  /** Absent when the report was sent on to the task's domain (`forwarded`). */
  task?: A2aTask;
  seqs?: number[];
  /** The event id was reported before: nothing new was written. */
  duplicate?: boolean;
  /** The task lives in another domain: the report is on its way there, durably. */
  forwarded?: true;
}

export interface ReportOptions {
  /** Makes a retried report count once; pass the same id when you retry. */
  eventId?: string | undefined;
  metadata?: Record<string, unknown> | undefined;
}

const path = (taskId: string): string => `/v1/a2a/tasks/${encodeURIComponent(taskId)}`;

/** Agent-side helpers for A2A tasks (docs/a2a.md): read what a delivery asks, report status and artifacts. */
export class A2aAgentApi {
  constructor(
    private readonly http: HttpTransport,
    /** This client's agent: named as the sender of reports on tasks of other domains. */
    private readonly agent?: string | undefined,
  ) {}

  /** The A2A request a delivered message carries, or undefined when it is not one. */
  requestOf(message: Message): A2aRequest | undefined {
    if (message.type !== A2A_MESSAGE_TYPE && message.type !== A2A_CANCEL_TYPE) return undefined;
    const data = message.data as A2aRequest | undefined;
    return typeof data === "object" && typeof data.taskId === "string" ? data : undefined;
  }

  /** Reports a state (working, input-required, completed, ...), with an optional agent message. */
  async status(
    task: TaskRef,
    state: Exclude<TaskState, "TASK_STATE_SUBMITTED">,
    options: ReportOptions & { message?: A2aMessage | string | undefined } = {},
  ): Promise<TaskEventResult> {
    const message = typeof options.message === "string" ? agentMessage(options.message) : options.message;
    return this.report(task, {
      status: { state, ...(message === undefined ? {} : { message }) },
      ...reportFields(options),
    });
  }

  /** Reports an artifact, or (with `append`) one more chunk of it. */
  async artifact(
    task: TaskRef,
    artifact: A2aArtifact,
    options: ReportOptions & { append?: boolean; lastChunk?: boolean } = {},
  ): Promise<TaskEventResult> {
    return this.report(task, {
      artifact,
      ...(options.append === undefined ? {} : { append: options.append }),
      ...(options.lastChunk === undefined ? {} : { lastChunk: options.lastChunk }),
      ...reportFields(options),
    });
  }

  /** The raw report: a status, an artifact or both (as `POST /v1/a2a/tasks/{id}/events` takes it). */
  async report(task: TaskRef, body: TaskEventBody): Promise<TaskEventResult> {
    if (typeof task === "string")
      return this.http.call<TaskEventResult>("POST", `${path(task)}/events`, { body });
    const routed =
      task.replyTo === undefined
        ? body
        : { ...body, replyTo: task.replyTo, ...(this.agent === undefined ? {} : { from: this.agent }) };
    return this.http.call<TaskEventResult>("POST", `${path(task.taskId)}/events`, { body: routed });
  }

  /** The A2A agent card the sidecar serves for `agent` (any agent of the domain). */
  async card(agent: string): Promise<AgentCard> {
    return this.http.call<AgentCard>("GET", `/a2a/${encodeURIComponent(agent)}/.well-known/agent-card.json`);
  }

  async task(taskId: string): Promise<A2aTask> {
    return this.http.call<A2aTask>("GET", path(taskId));
  }

  /** One page of the task's event log after `after` (a seq). */
  async events(taskId: string, after = 0): Promise<{ events: StoredTaskEvent[]; nextAfter?: number }> {
    return this.http.call("GET", `${path(taskId)}/events`, { query: { after } });
  }
}

/** A text message from the agent. */
export function agentMessage(text: string): A2aMessage {
  return { messageId: crypto.randomUUID(), role: "ROLE_AGENT", parts: [{ text }] };
}

function reportFields(options: ReportOptions): Pick<TaskEventBody, "eventId" | "metadata"> {
  return {
    ...(options.eventId === undefined ? {} : { eventId: options.eventId }),
    ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
  };
}
