import type { A2aAgentConfig, A2aRemoteConfig } from "../../core/a2a-config.js";
import { A2A_PROTOCOL_VERSION, type AgentCard } from "../../core/api/a2a-api.js";
import { API_VERSION } from "../../core/api/version.js";
import { BmnError, NotFoundError } from "../../core/errors.js";
import type { AgentRecord, AgentRegistry } from "../../store/store.js";
import { fetchRemoteCard } from "./remote-client.js";
import { ShortCache } from "./short-cache.js";

const DEFAULT_MODES = ["text/plain", "application/json"];

// Cards are served without a token (discovery comes before credentials), so what they cost is bounded: at most one
// registry read in flight per sidecar however many cards are asked for (answers stay fresh); a remote's card is
// cached in remote-client.ts.
const registryReads = new WeakMap<AgentRegistry, ShortCache<"agents", AgentRecord[]>>();

function registeredAgents(registry: AgentRegistry): Promise<AgentRecord[]> {
  let cache = registryReads.get(registry);
  if (cache === undefined) {
    cache = new ShortCache(0, 1);
    registryReads.set(registry, cache);
  }
  return cache.get("agents", () => registry.listAgents());
}

export interface CardOptions {
  domain: string;
  /** Where clients reach this sidecar, e.g. http://127.0.0.1:7420 */
  baseUrl: string;
  pushNotifications: boolean;
  /** The sidecar wants its API token (as a bearer token) on every A2A call. */
  apiToken: boolean;
  configured: Readonly<Record<string, A2aAgentConfig>>;
  /** Outside agents the bridge calls: their own cards, pointing at this sidecar. */
  remotes: Readonly<Record<string, A2aRemoteConfig>>;
}

/**
 * The A2A agent card of one agent of the domain, from its registry entry (capabilities become skills) and its
 * configured `a2a` section (an AgentEndpoint's); 404 for an agent neither knows.
 */
export async function agentCard(
  registry: AgentRegistry,
  agent: string,
  options: CardOptions,
): Promise<AgentCard> {
  // An agent of another domain: this domain cannot see its registry, so its card says only how to reach it.
  if (agent.includes("@")) return buildCard(agent, undefined, undefined, options);
  const remote = Object.hasOwn(options.remotes, agent) ? options.remotes[agent] : undefined;
  if (remote !== undefined) return remoteCard(agent, remote, options);
  const configured = Object.hasOwn(options.configured, agent) ? options.configured[agent] : undefined;
  const record = (await registeredAgents(registry)).find((entry) => entry.name === agent);
  if (record === undefined && configured === undefined)
    throw new NotFoundError(
      `agent ${agent} is neither registered nor configured for A2A in domain ${options.domain}`,
      {
        field: "agent",
      },
    );
  return buildCard(agent, record, configured, options);
}

/** An outside agent's own card, reached through this sidecar (its interface, its push and security). */
async function remoteCard(agent: string, remote: A2aRemoteConfig, options: CardOptions): Promise<AgentCard> {
  let card: AgentCard;
  try {
    card = await fetchRemoteCard(remote);
  } catch (error) {
    throw new BmnError(
      "STORE_UNAVAILABLE",
      `the card of remote agent ${agent} cannot be read: ${error instanceof Error ? error.message : String(error)}`,
      { field: "agent" },
    );
  }
  const own = buildCard(agent, undefined, undefined, options);
  return {
    ...own,
    description: typeof card.description === "string" ? card.description : own.description,
    version: typeof card.version === "string" ? card.version : own.version,
    skills: Array.isArray(card.skills) ? card.skills : [],
    defaultInputModes: Array.isArray(card.defaultInputModes) ? card.defaultInputModes : own.defaultInputModes,
    defaultOutputModes: Array.isArray(card.defaultOutputModes)
      ? card.defaultOutputModes
      : own.defaultOutputModes,
  };
}

export function buildCard(
  agent: string,
  record: AgentRecord | undefined,
  configured: A2aAgentConfig | undefined,
  options: CardOptions,
): AgentCard {
  const inputModes = configured?.inputModes ?? DEFAULT_MODES;
  const outputModes = configured?.outputModes ?? DEFAULT_MODES;
  const skills = (configured?.skills ?? []).map((skill) => ({
    id: skill.id,
    name: skill.name ?? skill.id,
    description: skill.description ?? skill.name ?? skill.id,
    tags: skill.tags ?? [],
    ...(skill.examples === undefined ? {} : { examples: skill.examples }),
    ...(skill.inputModes === undefined ? {} : { inputModes: skill.inputModes }),
    ...(skill.outputModes === undefined ? {} : { outputModes: skill.outputModes }),
  }));
  const named = new Set(skills.map((skill) => skill.id));
  for (const capability of record?.capabilities ?? []) {
    if (named.has(capability)) continue;
    named.add(capability);
    skills.push({
      id: capability,
      name: capability,
      description: `capability ${capability}`,
      tags: [capability],
    });
  }
  return {
    name: agent,
    description:
      configured?.description ??
      record?.metadata.description ??
      `agent ${agent.includes("@") ? agent : `${agent}@${options.domain}`} on Beast Mode Network`,
    version: configured?.version ?? record?.metadata.version ?? API_VERSION,
    supportedInterfaces: [
      {
        url: `${options.baseUrl}/a2a/${agent}`,
        protocolBinding: "JSONRPC",
        protocolVersion: A2A_PROTOCOL_VERSION,
      },
      {
        url: `${options.baseUrl}/a2a/${agent}/rest`,
        protocolBinding: "HTTP+JSON",
        protocolVersion: A2A_PROTOCOL_VERSION,
      },
    ],
    provider: { organization: "Beast Mode Network", url: options.baseUrl },
    capabilities: { streaming: true, pushNotifications: options.pushNotifications },
    defaultInputModes: inputModes,
    defaultOutputModes: outputModes,
    skills,
    ...(options.apiToken
      ? {
          securitySchemes: {
            bmnApiToken: {
              httpAuthSecurityScheme: { scheme: "Bearer", description: "the sidecar's API token" },
            },
          },
          securityRequirements: [{ schemes: { bmnApiToken: { list: [] } } }],
        }
      : {}),
  };
}
