import type {
  A2aAppend,
  A2aAppendOutcome,
  A2aTaskStore,
  StoredA2aEvent,
  StoredA2aTask,
} from "./roles/a2a-tasks.js";

/** Every call of the A2A task role. */
export type A2aTaskOperation = keyof A2aTaskStore;

/**
 * Which calls of the A2A task role may be repeated after a STORE_UNAVAILABLE failure. As for STORE_OPERATIONS, a
 * timeout is ambiguous (the lost attempt may have landed), so only calls whose repeat cannot change the outcome
 * are retried. Every call of the role is on the request path, so all of them go through the breaker.
 */
export const A2A_TASK_RETRYABLE: Readonly<Record<A2aTaskOperation, boolean>> = {
  // `false` answers "the task exists": the caller reads it back. The id is derived from the first message, so a
  // repeat after a lost attempt that did land finds that same task.
  createTask: true,
  readTask: true,
  // Compare and set with an event id: every backend checks the id before the seq, so if the lost attempt
  // landed, the repeat answers `duplicate` with its seq and the event is in the log once either way.
  appendTaskEvent: true,
  readTaskEvents: true,
  // Stores or replaces by config id: a repeat writes the same config again and does not count twice toward `max`.
  putPushConfig: true,
  readPushConfig: true,
  listPushConfigs: true,
  // NOT retried: if the lost attempt deleted the config, the repeat answers false and the client would hear "no
  // such config" for a delete that worked.
  deletePushConfig: false,
  // Set if absent, answering what is stored: a repeat answers the link the lost attempt stored.
  linkRemoteTask: true,
  readRemoteLink: true,
};

/** Runs one call of the role under the store's guard (timeout, breaker, retry when `retry`). */
export type A2aGuard = <T>(operation: A2aTaskOperation, run: () => Promise<T>, retry: boolean) => Promise<T>;

/** The A2A task role of a ResilientStore: each call of the wrapped role under the same guard as the store's. */
export class ResilientA2aTasks implements A2aTaskStore {
  constructor(
    private readonly inner: A2aTaskStore,
    private readonly guard: A2aGuard,
  ) {}

  private call<T>(operation: A2aTaskOperation, run: () => Promise<T>): Promise<T> {
    return this.guard(operation, run, A2A_TASK_RETRYABLE[operation]);
  }

  createTask(id: string, taskJson: string, retentionMs: number): Promise<boolean> {
    return this.call("createTask", () => this.inner.createTask(id, taskJson, retentionMs));
  }

  readTask(id: string): Promise<StoredA2aTask | undefined> {
    return this.call("readTask", () => this.inner.readTask(id));
  }

  appendTaskEvent(id: string, append: A2aAppend): Promise<A2aAppendOutcome> {
    return this.call("appendTaskEvent", () => this.inner.appendTaskEvent(id, append));
  }

  readTaskEvents(id: string, afterSeq: number, limit: number): Promise<StoredA2aEvent[]> {
    return this.call("readTaskEvents", () => this.inner.readTaskEvents(id, afterSeq, limit));
  }

  putPushConfig(taskId: string, configId: string, json: string, max: number): Promise<"stored" | "full"> {
    return this.call("putPushConfig", () => this.inner.putPushConfig(taskId, configId, json, max));
  }

  readPushConfig(taskId: string, configId: string): Promise<string | undefined> {
    return this.call("readPushConfig", () => this.inner.readPushConfig(taskId, configId));
  }

  listPushConfigs(taskId: string): Promise<string[]> {
    return this.call("listPushConfigs", () => this.inner.listPushConfigs(taskId));
  }

  deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    return this.call("deletePushConfig", () => this.inner.deletePushConfig(taskId, configId));
  }

  linkRemoteTask(id: string, linkJson: string): Promise<string | undefined> {
    return this.call("linkRemoteTask", () => this.inner.linkRemoteTask(id, linkJson));
  }

  readRemoteLink(id: string): Promise<string | undefined> {
    return this.call("readRemoteLink", () => this.inner.readRemoteLink(id));
  }
}
