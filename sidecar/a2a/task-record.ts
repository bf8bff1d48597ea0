import {
  INTERRUPTED_STATES,
  TERMINAL_STATES,
  type A2aArtifact,
  type A2aMessage,
  type A2aStreamResponse,
  type A2aTask,
  type A2aTaskStatus,
  type TaskState,
} from "../../core/api/a2a-api.js";
import { BmnError } from "../../core/errors.js";

/** What the store keeps of a task: the A2A task itself and who it is between. */
export interface TaskRecord {
  task: A2aTask;
  /** The agent working on it (a name of this domain). */
  agent: string;
  /** The sender, when the sidecar acts for one agent. */
  from?: string | undefined;
  createdAt: number;
}

/** What one event does: the task's next form and the event clients see. */
export interface TaskChange {
  record: TaskRecord;
  event: A2aStreamResponse;
}

export function stateOf(record: TaskRecord): TaskState {
  return record.task.status.state;
}

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

/** A stream of the task ends here: the task is done or waits for the client. */
export function endsStream(state: TaskState): boolean {
  return TERMINAL_STATES.has(state) || INTERRUPTED_STATES.has(state);
}

/** The state an event leaves the task in, when it is a status update. */
export function stateAfter(event: A2aStreamResponse): TaskState | undefined {
  return "statusUpdate" in event ? event.statusUpdate.status.state : undefined;
}

function refuseTerminal(record: TaskRecord): void {
  const state = stateOf(record);
  if (isTerminal(state))
    throw new BmnError("TASK_TERMINAL", `task ${record.task.id} is ${state} and takes no more events`, {
      field: "taskId",
    });
}

function withHistory(task: A2aTask, message: A2aMessage | undefined, maxHistory: number): A2aMessage[] {
  const history = [...(task.history ?? [])];
  if (message !== undefined) history.push(message);
  return history.slice(-maxHistory);
}

/** A new status (its message, if any, joins the history). */
export function statusChange(
  record: TaskRecord,
  status: { state: TaskState; message?: A2aMessage | undefined },
  options: { maxHistory: number; metadata?: Record<string, unknown> | undefined },
): TaskChange {
  refuseTerminal(record);
  const { task } = record;
  const message =
    status.message === undefined
      ? undefined
      : { ...status.message, taskId: task.id, contextId: task.contextId };
  const next: A2aTaskStatus = {
    state: status.state,
    ...(message === undefined ? {} : { message }),
    timestamp: new Date().toISOString(),
  };
  return {
    record: {
      ...record,
      task: { ...task, status: next, history: withHistory(task, message, options.maxHistory) },
    },
    event: {
      statusUpdate: {
        taskId: task.id,
        contextId: task.contextId,
        status: next,
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      },
    },
  };
}

/** A client's follow-up message: into the history, and an interrupted task is submitted again. */
export function followUpChange(record: TaskRecord, message: A2aMessage, maxHistory: number): TaskChange {
  refuseTerminal(record);
  const { task } = record;
  const state = INTERRUPTED_STATES.has(stateOf(record)) ? "TASK_STATE_SUBMITTED" : stateOf(record);
  const status: A2aTaskStatus = { state, timestamp: new Date().toISOString() };
  return {
    record: { ...record, task: { ...task, status, history: withHistory(task, message, maxHistory) } },
    event: { statusUpdate: { taskId: task.id, contextId: task.contextId, status } },
  };
}

/** An artifact, or a chunk appended to one (`append`). */
export function artifactChange(
  record: TaskRecord,
  artifact: A2aArtifact,
  options: {
    append?: boolean | undefined;
    lastChunk?: boolean | undefined;
    metadata?: Record<string, unknown> | undefined;
  },
): TaskChange {
  refuseTerminal(record);
  const { task } = record;
  const artifacts = [...(task.artifacts ?? [])];
  const index = artifacts.findIndex((known) => known.artifactId === artifact.artifactId);
  const known = index === -1 ? undefined : artifacts[index];
  const merged =
    options.append === true && known !== undefined
      ? { ...known, ...artifact, parts: [...known.parts, ...artifact.parts] }
      : artifact;
  if (index === -1) artifacts.push(merged);
  else artifacts[index] = merged;
  return {
    record: { ...record, task: { ...task, artifacts } },
    event: {
      artifactUpdate: {
        taskId: task.id,
        contextId: task.contextId,
        artifact,
        ...(options.append === true ? { append: true } : {}),
        ...(options.lastChunk === true ? { lastChunk: true } : {}),
        ...(options.metadata === undefined ? {} : { metadata: options.metadata }),
      },
    },
  };
}

/** The task as a client asked for it: `historyLength` newest messages (0: none; unset: all kept). */
export function taskView(task: A2aTask, historyLength: number | undefined): A2aTask {
  if (historyLength === undefined) return task;
  const history = historyLength === 0 ? [] : (task.history ?? []).slice(-historyLength);
  return { ...task, history };
}
