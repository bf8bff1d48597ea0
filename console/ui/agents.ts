// Agents: the registry with capabilities and heartbeats, joined with each agent's queue counts.
import type { VNode } from "preact";
import { getJson, segment, type AgentRecord, type QueueStats } from "./api.js";
import { ErrorNote, formatAge, html, usePoll } from "./kit.js";

async function loadAgents(): Promise<{ agent: AgentRecord; stats: QueueStats | undefined }[]> {
  const { agents } = await getJson<{ agents: AgentRecord[] }>("/v1/agents");
  return Promise.all(
    agents.map(async (agent) => ({
      agent,
      stats: await getJson<QueueStats>(`/v1/agents/${segment(agent.name)}/stats`).catch(() => undefined),
    })),
  );
}

export function Agents(): VNode {
  const { data, error } = usePoll(loadAgents, 5_000);
  const now = Date.now();
  return html`
    <h1>Agents</h1>
    <${ErrorNote} error=${error} />
    <table>
      <caption class="visually-hidden">
        Registered agents with their capabilities, heartbeats and queues
      </caption>
      <thead>
        <tr>
          <th scope="col">Agent</th>
          <th scope="col">Capabilities</th>
          <th scope="col">Last heartbeat</th>
          <th scope="col">Expires in</th>
          <th scope="col">Depth</th>
          <th scope="col">In flight</th>
          <th scope="col">Dead letters</th>
        </tr>
      </thead>
      <tbody>
        ${(data ?? []).map(
          ({ agent, stats }) =>
            html`<tr data-agent=${agent.name}>
              <th scope="row"><a href=${`#/messages/${segment(agent.name)}`}>${agent.name}</a></th>
              <td>
                ${agent.capabilities.length === 0 ? "–" : agent.capabilities.map((c) => html`<span class="tag">${c}</span> `)}
              </td>
              <td>${formatAge(now - agent.lastSeenAt)} ago</td>
              <td>${formatAge(agent.expiresAt - now)}</td>
              <td>${stats?.depth ?? "–"}</td>
              <td>${stats?.inFlight ?? "–"}</td>
              <td>
                ${stats === undefined || stats.deadLettered === 0 ? (stats?.deadLettered ?? "–") : html`<a href=${`#/dlq?agent=${segment(agent.name)}`}>${stats.deadLettered}</a>`}
              </td>
            </tr>`,
        )}
      </tbody>
    </table>
    ${data?.length === 0 ? html`<p>No agent is registered. Agents register with <code>bmn register</code> or <code>PUT /v1/agents/{name}</code>.</p>` : ""}
  `;
}
