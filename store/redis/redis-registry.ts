import type { AgentName, QueueName } from "../../core/names.js";
import type { RegistryBackend } from "../base/registry-role.js";
import type { AgentRecord } from "../store.js";
import { callRedis, type RedisClient } from "./redis-call.js";
import type { RedisKeys } from "./redis-keys.js";

/** The agent registry in Redis: one hash, name → record JSON; lapsed records are dropped when the list is read. */
export class RedisRegistry implements RegistryBackend {
  constructor(
    private readonly client: RedisClient,
    private readonly keys: RedisKeys,
  ) {}

  async writeAgent(record: AgentRecord): Promise<void> {
    await callRedis(() => this.client.hset(this.keys.agents, record.name, JSON.stringify(record)));
  }

  async readAgents(): Promise<AgentRecord[]> {
    const all = await callRedis(() => this.client.hgetall(this.keys.agents));
    const now = Date.now();
    const records = Object.values(all).map((json) => JSON.parse(json) as AgentRecord);
    const lapsed = records.filter((record) => record.expiresAt <= now).map((record) => record.name);
    if (lapsed.length > 0) await callRedis(() => this.client.hdel(this.keys.agents, ...lapsed));
    return records.filter((record) => record.expiresAt > now);
  }

  async readAgent(name: AgentName): Promise<AgentRecord | undefined> {
    const json = await callRedis(() => this.client.hget(this.keys.agents, name));
    return json === null ? undefined : (JSON.parse(json) as AgentRecord);
  }

  async deleteAgent(name: QueueName): Promise<boolean> {
    return (await callRedis(() => this.client.hdel(this.keys.agents, name))) === 1;
  }
}
