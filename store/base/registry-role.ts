import { validationErrorOf } from "../../core/api/describe-issue.js";
import { NotFoundError } from "../../core/errors.js";
import { capabilitySchema, type AgentName } from "../../core/names.js";
import type { AgentRecord, AgentRegistration, AgentRegistry } from "../roles/registry.js";
import { toAgentName, toCount } from "../validate.js";

export const DEFAULT_AGENT_TTL_MS = 5 * 60_000;

/** What the registry role needs of a backend. */
export interface RegistryBackend {
  writeAgent(record: AgentRecord): Promise<void>;
  readAgents(): Promise<AgentRecord[]>;
  /** One agent's registration, lapsed or not: registry writes cost O(1) whatever the number of agents. */
  readAgent(name: AgentName): Promise<AgentRecord | undefined>;
  deleteAgent(name: AgentName): Promise<boolean>;
}

/** The agent registry, the same for every backend: validation, TTLs and lapsed registrations. */
export class RegistryRole implements AgentRegistry {
  constructor(private readonly backend: RegistryBackend) {}

  async registerAgent(registration: AgentRegistration): Promise<AgentRecord> {
    const name = toAgentName(registration.name, "name");
    const ttlMs = toCount(registration.ttlMs, "ttlMs", 1) ?? DEFAULT_AGENT_TTL_MS;
    const capabilities = (registration.capabilities ?? []).map((capability, index) => {
      const parsed = capabilitySchema.safeParse(capability);
      if (!parsed.success) throw validationErrorOf(parsed.error, { prefix: `capabilities.${index}` });
      return parsed.data;
    });
    const now = Date.now();
    const existing = await this.liveRecord(name, now);
    const record: AgentRecord = {
      name,
      capabilities: [...new Set(capabilities)].sort(),
      metadata: { ...registration.metadata },
      registeredAt: existing?.registeredAt ?? now,
      lastSeenAt: now,
      expiresAt: now + ttlMs,
    };
    await this.backend.writeAgent(record);
    return record;
  }

  async heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord> {
    const name = toAgentName(agent);
    const ttl = toCount(ttlMs, "ttlMs", 1);
    const now = Date.now();
    const existing = await this.liveRecord(name, now);
    if (existing === undefined)
      throw new NotFoundError(`agent ${name} is not registered (or its registration lapsed)`, {
        field: "agent",
      });
    const record: AgentRecord = {
      ...existing,
      lastSeenAt: now,
      expiresAt: now + (ttl ?? existing.expiresAt - existing.lastSeenAt),
    };
    await this.backend.writeAgent(record);
    return record;
  }

  async deregisterAgent(agent: string): Promise<boolean> {
    return this.backend.deleteAgent(toAgentName(agent));
  }

  async listAgents(filter: { capability?: string } = {}): Promise<AgentRecord[]> {
    const now = Date.now();
    return (await this.backend.readAgents())
      .filter((record) => record.expiresAt > now)
      .filter((record) => filter.capability === undefined || record.capabilities.includes(filter.capability))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** The agent's registration unless it lapsed. */
  private async liveRecord(name: AgentName, now: number): Promise<AgentRecord | undefined> {
    const known = await this.backend.readAgent(name);
    return known !== undefined && known.expiresAt > now ? known : undefined;
  }
}
