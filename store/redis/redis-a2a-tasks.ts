import type {
  A2aAppend,
  A2aAppendOutcome,
  A2aTaskStore,
  StoredA2aEvent,
  StoredA2aTask,
} from "../roles/a2a-tasks.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";
import type { ScriptRunner } from "./script-runner.js";

const APPEND_OUTCOMES = new Set(["appended", "duplicate", "conflict", "full", "missing"]);

/**
 * A2A tasks in Redis: per task a hash (json, seq), a list of events (index + 1 is the seq), a hash of event ids
 * and a hash of push configs, all on the task's hash tag (one slot), each write one script. Keys expire
 * `retentionMs` after the task's last write. The bridge's link to a remote task is a field of the task hash.
 */
export class RedisA2aTasks implements A2aTaskStore {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
    private readonly scripts: ScriptRunner,
  ) {}

  async createTask(id: string, taskJson: string, retentionMs: number): Promise<boolean> {
    const [task] = this.keys.a2aTask(id);
    const created = await callRedis(() => this.scripts.run("a2a-create", [task], [taskJson, retentionMs]));
    return created === 1;
  }

  async readTask(id: string): Promise<StoredA2aTask | undefined> {
    const [task] = this.keys.a2aTask(id);
    const [json, seq] = await callRedis(() => this.client.hmget(task, "json", "seq"));
    if (json === null || json === undefined) return undefined;
    return { json, seq: Number(seq ?? 0) };
  }

  async appendTaskEvent(id: string, append: A2aAppend): Promise<A2aAppendOutcome> {
    const reply = await callRedis(() =>
      this.scripts.run("a2a-append", this.keys.a2aTask(id), [
        append.expectedSeq,
        append.eventId,
        append.eventJson,
        append.taskJson,
        append.retentionMs,
        append.maxEvents,
      ]),
    );
    const [outcome, seq] = reply as [string, number];
    if (!APPEND_OUTCOMES.has(outcome)) throw new Error(`unexpected a2a-append reply ${outcome}`);
    if (outcome === "appended" || outcome === "duplicate") return { outcome, seq };
    return { outcome: outcome as "conflict" | "full" | "missing" };
  }

  async readTaskEvents(id: string, afterSeq: number, limit: number): Promise<StoredA2aEvent[]> {
    const [, events] = this.keys.a2aTask(id);
    const start = Math.max(0, afterSeq);
    const list = await callRedis(() => this.client.lrange(events, start, start + limit - 1));
    return list.map((json, index) => ({ seq: start + index + 1, json }));
  }

  async putPushConfig(
    taskId: string,
    configId: string,
    json: string,
    max: number,
  ): Promise<"stored" | "full"> {
    const [task, , , push] = this.keys.a2aTask(taskId);
    const reply = await callRedis(() =>
      this.scripts.run("a2a-push-put", [task, push], [configId, json, max]),
    );
    return reply === "stored" ? "stored" : "full";
  }

  async readPushConfig(taskId: string, configId: string): Promise<string | undefined> {
    const [, , , push] = this.keys.a2aTask(taskId);
    return (await callRedis(() => this.client.hget(push, configId))) ?? undefined;
  }

  async listPushConfigs(taskId: string): Promise<string[]> {
    const [, , , push] = this.keys.a2aTask(taskId);
    return callRedis(() => this.client.hvals(push));
  }

  async deletePushConfig(taskId: string, configId: string): Promise<boolean> {
    const [, , , push] = this.keys.a2aTask(taskId);
    return (await callRedis(() => this.client.hdel(push, configId))) === 1;
  }

  async linkRemoteTask(id: string, linkJson: string): Promise<string | undefined> {
    const [task] = this.keys.a2aTask(id);
    const stored = await callRedis(() => this.scripts.run("a2a-link", [task], [linkJson]));
    return typeof stored === "string" ? stored : undefined;
  }

  async readRemoteLink(id: string): Promise<string | undefined> {
    const [task] = this.keys.a2aTask(id);
    return (await callRedis(() => this.client.hget(task, "remote"))) ?? undefined;
  }
}
