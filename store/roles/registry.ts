import type { AgentName } from "../../core/names.js";

/** The agent registry: who is there, with which capabilities, until their registration lapses. */
export interface AgentRegistry {
  registerAgent(registration: AgentRegistration): Promise<AgentRecord>;
  /** Extends a registration; throws NOT_FOUND when the agent is unknown or its registration lapsed. */
  heartbeat(agent: string, ttlMs?: number): Promise<AgentRecord>;
  deregisterAgent(agent: string): Promise<boolean>;
  listAgents(filter?: { capability?: string }): Promise<AgentRecord[]>;
}

export interface AgentRegistration {
  name: string;
  capabilities?: string[] | undefined;
  metadata?: Record<string, string> | undefined;
  ttlMs?: number | undefined;
}

export interface AgentRecord {
  name: AgentName;
  capabilities: string[];
  metadata: Record<string, string>;
  registeredAt: number;
  lastSeenAt: number;
  expiresAt: number;
}
