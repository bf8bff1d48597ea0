import type { AgentName, QueueName } from "../../core/names.js";
import type { RegistryBackend } from "../base/registry-role.js";
import type { AgentRecord } from "../store.js";

/** The agent registry in memory; lapsed records are dropped when the list is read. */
export class MemoryRegistry implements RegistryBackend {
  private readonly agents = new Map<QueueName, AgentRecord>();

  writeAgent(record: AgentRecord): Promise<void> {
    this.agents.set(record.name, record);
    return Promise.resolve();
  }

  readAgents(): Promise<AgentRecord[]> {
    const now = Date.now();
    for (const [name, record] of this.agents) if (record.expiresAt <= now) this.agents.delete(name);
    return Promise.resolve([...this.agents.values()]);
  }

  readAgent(name: AgentName): Promise<AgentRecord | undefined> {
    return Promise.resolve(this.agents.get(name));
  }

  deleteAgent(name: QueueName): Promise<boolean> {
    return Promise.resolve(this.agents.delete(name));
  }
}
