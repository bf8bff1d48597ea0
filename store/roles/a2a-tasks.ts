/**
 * A2A tasks: each task's current form and its append-only event log, plus its push-notification configs. The role
 * stores JSON it is given; what an event does to a task is the sidecar's business (sidecar/a2a/task-service.ts),
 * which reads, computes the next form and appends with `expectedSeq` (compare and set), so concurrent writers on
 * any sidecar of the domain never lose an event. A task lives `retentionMs` after its last write.
 */
export interface A2aTaskStore {
  /** Stores a new task at seq 0; false (and nothing written) when the id exists. */
  createTask(id: string, taskJson: string, retentionMs: number): Promise<boolean>;
  readTask(id: string): Promise<StoredA2aTask | undefined>;
  /**
   * Appends one event as seq `expectedSeq + 1` and replaces the task's form, in one atomic step, unless another
   * write came first (`conflict`), the event id was appended before (`duplicate`, with its seq), the log holds
   * `maxEvents` already (`full`) or the task is gone (`missing`).
   */
  appendTaskEvent(id: string, append: A2aAppend): Promise<A2aAppendOutcome>;
  /** Events with seq > `afterSeq`, oldest first, at most `limit`. */
  readTaskEvents(id: string, afterSeq: number, limit: number): Promise<StoredA2aEvent[]>;
  /** Stores (or replaces) a push config; `full` when the task has `max` other configs. */
  putPushConfig(taskId: string, configId: string, json: string, max: number): Promise<"stored" | "full">;
  readPushConfig(taskId: string, configId: string): Promise<string | undefined>;
  listPushConfigs(taskId: string): Promise<string[]>;
  deletePushConfig(taskId: string, configId: string): Promise<boolean>;
  /**
   * Links a task to the task an outside agent keeps for it (the bridge: remote task id, push token), unless it is
   * linked already. Answers the link stored now: the earlier one if there was one, undefined when the task is
   * gone. The link lives and expires with the task.
   */
  linkRemoteTask(id: string, linkJson: string): Promise<string | undefined>;
  readRemoteLink(id: string): Promise<string | undefined>;
}

export interface StoredA2aTask {
  json: string;
  /** The seq of the last event appended; 0 before the first. */
  seq: number;
}

export interface A2aAppend {
  expectedSeq: number;
  eventId: string;
  eventJson: string;
  taskJson: string;
  retentionMs: number;
  maxEvents: number;
}

export type A2aAppendOutcome =
  | { outcome: "appended"; seq: number }
  | { outcome: "duplicate"; seq: number }
  | { outcome: "conflict" | "full" | "missing" };

export interface StoredA2aEvent {
  seq: number;
  json: string;
}

/** A store that has the A2A task role. */
export interface A2aTaskHolder {
  a2aTasks(): A2aTaskStore;
}

/** The A2A task role of `store`, looking through wrappers that keep the wrapped store as `inner`. */
export function a2aTasksOf(store: unknown): A2aTaskStore | undefined {
  let current = store;
  for (let depth = 0; depth < 8 && typeof current === "object" && current !== null; depth++) {
    if (typeof (current as Partial<A2aTaskHolder>).a2aTasks === "function")
      return (current as A2aTaskHolder).a2aTasks();
    current = (current as { inner?: unknown }).inner;
  }
  return undefined;
}
