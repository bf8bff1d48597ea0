/**
 * Presence both ways. Legacy agents (from `agent_discovery` announcements and the `beast:agents:*` keys) become
 * BMN registrations with `metadata.origin = legacy`, which lapse 5 minutes after their last announcement. BMN
 * agents (every other registration) are announced on the legacy channel every 30 s and written as presence keys.
 */
import type { Redis } from "ioredis";
import type { AgentRecord, BmnClient } from "../../client/index.js";
import type { BridgeMetrics } from "../common/bridge-metrics.js";
import {
  DISCOVERY_TYPE,
  LEGACY_CHANNEL,
  PRESENCE_PREFIX,
  PRESENCE_SET,
  bmnNameOf,
  channelJson,
  parsePresence,
} from "./legacy-protocol.js";
import type { RecentIds } from "./recent-ids.js";

export const LEGACY_ORIGIN = "legacy";
/** Legacy agents the bridge carries at most: each costs a queue poll per round. */
export const MAX_LEGACY_AGENTS = 5_000;
/** BMN agents that never cross: the bridge itself and its siblings. */
const BRIDGE_CAPABILITY = "bmn-bridge";

export interface DirectoryOptions {
  /** The bridge's own BMN agent. */
  agent: string;
  offlineAfterMs: number;
  /** Legacy agents carried at most (default MAX_LEGACY_AGENTS); announcements of more are dropped and counted. */
  maxLegacyAgents?: number;
}

export class LegacyDirectory {
  /** BMN-native agents by name. */
  private bmn = new Map<string, AgentRecord>();
  /** Legacy agents: BMN name → legacy id. Rebuilt from the registry, so agents whose registration lapsed go. */
  private legacy = new Map<string, string>();
  private readonly announcedSinceRefresh = new Set<string>();

  constructor(
    private readonly client: BmnClient,
    private readonly redis: Redis,
    private readonly metrics: BridgeMetrics,
    private readonly sent: RecentIds,
    private readonly options: DirectoryOptions,
  ) {}

  private get maxLegacyAgents(): number {
    return this.options.maxLegacyAgents ?? MAX_LEGACY_AGENTS;
  }

  /** BMN-native agents, whose legacy mailboxes the bridge reads. */
  bmnAgents(): string[] {
    return [...this.bmn.keys()];
  }

  isBmnAgent(name: string): boolean {
    return this.bmn.has(name);
  }

  /** Legacy agents by BMN name: the BMN queues the bridge empties into legacy mailboxes. */
  legacyAgents(): ReadonlyMap<string, string> {
    return this.legacy;
  }

  /** Reads the BMN registry: who is BMN-native, and which legacy agents BMN already knows (after a restart). */
  async refresh(): Promise<void> {
    const records = await this.client.agents();
    const bmn = new Map<string, AgentRecord>();
    const legacy = new Map<string, string>();
    for (const record of records) {
      if (record.metadata.origin === LEGACY_ORIGIN) {
        if (legacy.size < this.maxLegacyAgents)
          legacy.set(record.name, record.metadata.legacyid ?? record.name);
      } else if (record.name !== this.options.agent && !record.capabilities.includes(BRIDGE_CAPABILITY)) {
        bmn.set(record.name, record);
      }
    }
    this.bmn = bmn;
    // Announced since the registry was read: kept until the next refresh sees them.
    for (const [name, legacyId] of this.legacy)
      if (!legacy.has(name) && this.announcedSinceRefresh.has(name)) legacy.set(name, legacyId);
    this.announcedSinceRefresh.clear();
    this.legacy = legacy;
    this.metrics
      .gauge("legacy_agents", "Legacy agents the bridge carries now (registered in BMN, not lapsed)")
      .set(legacy.size);
  }

  /** A legacy agent announced itself (or has a presence key): register or refresh it in BMN. */
  async legacyAnnounced(
    legacyId: string,
    capabilities: string[],
    ttlMs = this.options.offlineAfterMs,
  ): Promise<void> {
    const name = bmnNameOf(legacyId);
    if (name === undefined || this.bmn.has(name) || name === this.options.agent) return;
    if (!this.legacy.has(name) && this.legacy.size >= this.maxLegacyAgents) {
      // Anyone who can publish on the legacy channel can announce names: their number is bounded.
      this.metrics.count("legacy-presence-in", "dropped");
      return;
    }
    await this.client.register({
      agent: name,
      capabilities,
      metadata: { origin: LEGACY_ORIGIN, legacyid: legacyId },
      ttlSeconds: Math.max(1, Math.ceil(ttlMs / 1000)),
    });
    this.legacy.set(name, legacyId);
    this.announcedSinceRefresh.add(name);
    this.metrics.count("legacy-presence-in", "bridged");
  }

  /** The presence keys of legacy agents: the set `beast:agents:all` and each agent's key with its TTL. */
  async scanLegacyPresence(): Promise<void> {
    const members = await this.redis.smembers(PRESENCE_SET);
    for (const member of members.slice(0, 10_000)) {
      const name = bmnNameOf(member);
      if (name === undefined || this.bmn.has(name) || this.sent.hasAgent(member)) continue;
      const key = `${PRESENCE_PREFIX}${member}`;
      const [value, ttl] = await Promise.all([this.redis.get(key), this.redis.pttl(key)]);
      if (value === null) continue; // lapsed: the agent is offline
      const parsed = parsePresence(value);
      if (!parsed.ok) continue;
      await this.legacyAnnounced(
        parsed.value.agent_id,
        parsed.value.capabilities,
        ttl > 0 ? Math.min(ttl, this.options.offlineAfterMs) : this.options.offlineAfterMs,
      );
    }
  }

  /** Announces every BMN-native agent on the legacy network: a discovery message and a presence key each. */
  async announceBmnAgents(): Promise<void> {
    const now = Date.now();
    for (const record of this.bmn.values()) {
      const id = `bmn-discovery-${record.name}-${now}`;
      this.sent.remember(id);
      this.sent.rememberAgent(record.name);
      const payload = { agent_id: record.name, capabilities: record.capabilities, network: "bmn" };
      const presence = {
        agent_id: record.name,
        capabilities: record.capabilities,
        registered_at: new Date(record.registeredAt).toISOString(),
        state: "active",
      };
      await this.redis
        .multi()
        .set(`${PRESENCE_PREFIX}${record.name}`, JSON.stringify(presence), "PX", this.options.offlineAfterMs)
        .sadd(PRESENCE_SET, record.name)
        .publish(
          LEGACY_CHANNEL,
          channelJson({
            type: DISCOVERY_TYPE,
            source: record.name,
            target: null,
            payload,
            timestamp: now,
            priority: 5,
            id,
          }),
        )
        .exec();
      this.metrics.count("legacy-presence-out", "bridged");
    }
  }
}
