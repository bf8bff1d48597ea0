import type {
  A2aAppend,
  A2aAppendOutcome,
  A2aTaskStore,
  StoredA2aEvent,
  StoredA2aTask,
} from "../roles/a2a-tasks.js";

interface MemoryTask {
  json: string;
  seq: number;
  events: string[];
  eventIds: Map<string, number>;
  push: Map<string, string>;
  /** The bridge's link to the remote's task, once set. */
  remoteLink?: string | undefined;
  expiresAt: number;
}

/** A2A tasks in process memory: gone with the process, like every message of the memory store. */
export class MemoryA2aTasks implements A2aTaskStore {
  private readonly tasks = new Map<string, MemoryTask>();

  createTask(id: string, taskJson: string, retentionMs: number): Promise<boolean> {
    this.sweep();
    if (this.live(id) !== undefined) return Promise.resolve(false);
    this.tasks.set(id, {
      json: taskJson,
      seq: 0,
      events: [],
      eventIds: new Map(),
      push: new Map(),
      expiresAt: Date.now() + retentionMs,
    });
    return Promise.resolve(true);
  }

  readTask(id: string): Promise<StoredA2aTask | undefined> {
    const task = this.live(id);
    return Promise.resolve(task === undefined ? undefined : { json: task.json, seq: task.seq });
  }

  appendTaskEvent(id: string, append: A2aAppend): Promise<A2aAppendOutcome> {
    const task = this.live(id);
    if (task === undefined) return Promise.resolve({ outcome: "missing" });
    const seen = task.eventIds.get(append.eventId);
    if (seen !== undefined) return Promise.resolve({ outcome: "duplicate", seq: seen });
    if (task.seq !== append.expectedSeq) return Promise.resolve({ outcome: "conflict" });
    if (task.seq >= append.maxEvents) return Promise.resolve({ outcome: "full" });
    task.seq++;
    task.events.push(append.eventJson);
    task.eventIds.set(append.eventId, task.seq);
    task.json = append.taskJson;
    task.expiresAt = Date.now() + append.retentionMs;
    return Promise.resolve({ outcome: "appended", seq: task.seq });
  }

  readTaskEvents(id: string, afterSeq: number, limit: number): Promise<StoredA2aEvent[]> {
    const task = this.live(id);
    if (task === undefined) return Promise.resolve([]);
    const start = Math.max(0, afterSeq);
    return Promise.resolve(
      task.events.slice(start, start + limit).map((json, index) => ({ seq: start + index + 1, json })),
    );
  }

  putPushConfig(taskId: string, configId: string, json: string, max: number): Promise<"stored" | "full"> {
    const task = this.live(taskId);
    if (task === undefined) return Promise.resolve("full");
    if (!task.push.has(configId) && task.push.size >= max) return Promise.resolve("full");
    task.push.set(configId, json);
    return Promise.resolve("stored");
  }

  readPushConfig(taskId: string, configId: string): Promise<string | undefined> {
    return Promise.resolve(this.live(taskId)?.push.get(configId));
  }

  listPushConfigs(taskId: string): Promise<string[]> {
    return Promise.resolve([...(this.live(taskId)?.push.values() ?? [])]);
  }

  deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    return Promise.resolve(this.live(taskId)?.push.delete(configId) === true);
  }

  linkRemoteTask(id: string, linkJson: string): Promise<string | undefined> {
    const task = this.live(id);
    if (task === undefined) return Promise.resolve(undefined);
    task.remoteLink ??= linkJson;
    return Promise.resolve(task.remoteLink);
  }

  readRemoteLink(id: string): Promise<string | undefined> {
    return Promise.resolve(this.live(id)?.remoteLink);
  }

  private live(id: string): MemoryTask | undefined {
    const task = this.tasks.get(id);
    if (task === undefined || task.expiresAt > Date.now()) return task;
    this.tasks.delete(id);
    return undefined;
  }

  /** Drops lapsed tasks a few at a time, so memory stays bounded by what is retained. */
  private sweep(): void {
    const now = Date.now();
    let looked = 0;
    for (const [id, task] of this.tasks) {
      if (++looked > 16) break;
      if (task.expiresAt <= now) this.tasks.delete(id);
    }
  }
}
