// Topology: this domain, its gateways and their links to other domains, with link state, RTT, backlog and routes.
import type { VNode } from "preact";
import { getJson, type Topology as TopologyAnswer } from "./api.js";
import { ErrorNote, formatAge, html, usePoll } from "./kit.js";

const WIDTH = 760;
const ROW = 70;

const STATE_COLOR: Record<string, string> = { up: "#047857", down: "#b91c1c", unknown: "#6b7280" };

interface Edge {
  gateway: string;
  peer: string;
  state: string;
  rtt: number | undefined;
  backlog: number;
}

/** One row per gateway link; a gateway that did not answer is one row without a peer. */
function edgesOf(topology: TopologyAnswer): { gateways: string[]; peers: string[]; edges: Edge[] } {
  const gateways: string[] = [];
  const peers = new Set<string>();
  const edges: Edge[] = [];
  for (const view of topology.gateways) {
    const name = view.topology?.gateway ?? view.url;
    gateways.push(name);
    for (const link of view.topology?.links ?? []) {
      peers.add(link.peer);
      edges.push({
        gateway: name,
        peer: link.peer,
        state: link.state,
        rtt: link.lastRttMs,
        backlog: link.backlog.depth,
      });
    }
  }
  for (const domain of topology.domains) if (domain !== topology.domain) peers.add(domain);
  return { gateways, peers: [...peers].sort(), edges };
}

function Graph({ topology }: { topology: TopologyAnswer }): VNode {
  const { gateways, peers, edges } = edgesOf(topology);
  const rows = Math.max(gateways.length, peers.length, 1);
  const height = rows * ROW + 40;
  const y = (index: number, count: number): number =>
    20 + ((index + 0.5) * (height - 40)) / Math.max(count, 1);
  const domainY = height / 2;
  const gatewayY = (name: string): number => y(gateways.indexOf(name), gateways.length);
  const peerY = (name: string): number => y(peers.indexOf(name), peers.length);
  return html` <svg
    class="topology"
    viewBox=${`0 0 ${WIDTH} ${height}`}
    role="img"
    aria-labelledby="topology-title"
  >
    <title id="topology-title">
      Domain ${topology.domain}, its ${gateways.length} gateway(s) and links to ${peers.length} domain(s)
    </title>
    ${gateways.map((g) => html`<line x1="110" y1=${domainY} x2="330" y2=${gatewayY(g)} stroke="#9ca3af" stroke-width="2" />`)}
    ${edges.map(
      (e) =>
        html`<g data-link=${`${e.gateway}->${e.peer}`} data-state=${e.state}>
          <line
            x1="430"
            y1=${gatewayY(e.gateway)}
            x2="630"
            y2=${peerY(e.peer)}
            stroke=${STATE_COLOR[e.state] ?? "#6b7280"}
            stroke-width="3"
            stroke-dasharray=${e.state === "up" ? "" : "8 6"}
          />
          <text
            x="530"
            y=${(gatewayY(e.gateway) + peerY(e.peer)) / 2 - 6}
            text-anchor="middle"
            class="edge-label"
          >
            ${e.state}${e.rtt === undefined ? "" : ` · ${Math.round(e.rtt)} ms`}${e.backlog > 0 ? ` · ${e.backlog} queued` : ""}
          </text>
        </g>`,
    )}
    <g class="node node-domain">
      <rect x="10" y=${domainY - 22} width="100" height="44" rx="8" />
      <text x="60" y=${domainY + 5} text-anchor="middle">${topology.domain}</text>
    </g>
    ${gateways.map((g) => html`<g class="node node-gateway"><rect x="330" y=${gatewayY(g) - 20} width="100" height="40" rx="20" /><text x="380" y=${gatewayY(g) + 5} text-anchor="middle">${g.length > 14 ? g.slice(0, 13) + "…" : g}</text></g>`)}
    ${peers.map((p) => html`<g class="node node-peer"><rect x="630" y=${peerY(p) - 22} width="120" height="44" rx="8" /><text x="690" y=${peerY(p) + 5} text-anchor="middle">${p}</text></g>`)}
  </svg>`;
}

export function Topology(): VNode {
  const { data, error } = usePoll(() => getJson<TopologyAnswer>("/v1/topology"), 2_000);
  return html`
    <h1>Topology</h1>
    <${ErrorNote} error=${error} />
    ${
      data === undefined
        ? html`<p>Loading…</p>`
        : html` ${data.crossDomain ? "" : html`<p>Cross-domain routing is off in this domain (<code>routing.crossDomain</code>).</p>`}
            ${data.gateways.length === 0 ? html`<p>The sidecar lists no gateways (<code>routing.gateways</code>): only the outbox backlog is known.</p>` : html`<${Graph} topology=${data} />`}
            <h2>Links</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Gateway</th>
                  <th scope="col">Peer</th>
                  <th scope="col">State</th>
                  <th scope="col">Breaker</th>
                  <th scope="col">RTT</th>
                  <th scope="col">Backlog</th>
                  <th scope="col">Oldest</th>
                  <th scope="col">Last error</th>
                </tr>
              </thead>
              <tbody>
                ${data.gateways.flatMap((view) =>
                  view.topology === undefined
                    ? [
                        html`<tr data-gateway=${view.url}>
                          <th scope="row">${view.url}</th>
                          <td colspan="7" class="bad">unreachable: ${view.error ?? "no answer"}</td>
                        </tr>`,
                      ]
                    : view.topology.links.map(
                        (link) =>
                          html`<tr data-row-link=${`${view.topology?.gateway ?? ""}->${link.peer}`}>
                            <th scope="row">${view.topology?.gateway}</th>
                            <td>${link.peer}</td>
                            <td class=${link.state === "up" ? "ok" : "bad"} data-col="state">
                              ${link.state}
                            </td>
                            <td>${link.breaker}</td>
                            <td>
                              ${link.lastRttMs === undefined ? "–" : `${Math.round(link.lastRttMs)} ms`}
                            </td>
                            <td>${link.backlog.depth} queued, ${link.backlog.inFlight} in flight</td>
                            <td>${formatAge(link.backlog.oldestAgeMs)}</td>
                            <td>${link.lastError ?? "–"}</td>
                          </tr>`,
                      ),
                )}
              </tbody>
            </table>
            <h2>Routes</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Gateway</th>
                  <th scope="col">To domain</th>
                  <th scope="col">Next hop</th>
                  <th scope="col">Path</th>
                </tr>
              </thead>
              <tbody>
                ${data.gateways.flatMap((view) =>
                  (view.topology?.routes ?? []).map(
                    (route) =>
                      html`<tr>
                        <th scope="row">${view.topology?.gateway}</th>
                        <td>${route.domain}</td>
                        <td>${route.nextHop}</td>
                        <td>${route.path.join(" → ")}</td>
                      </tr>`,
                  ),
                )}
              </tbody>
            </table>
            <h2>Outboxes</h2>
            <table>
              <thead>
                <tr>
                  <th scope="col">Destination</th>
                  <th scope="col">Depth</th>
                  <th scope="col">In flight</th>
                  <th scope="col">Dead letters</th>
                  <th scope="col">Oldest</th>
                  <th scope="col">Next hop</th>
                </tr>
              </thead>
              <tbody>
                ${data.outboxes.map(
                  (o) =>
                    html`<tr>
                      <th scope="row">${o.destination}</th>
                      <td>${o.depth}</td>
                      <td>${o.inFlight}</td>
                      <td>${o.deadLettered}</td>
                      <td>${formatAge(o.oldestAgeMs)}</td>
                      <td>${o.nextHop ?? "–"}</td>
                    </tr>`,
                )}
              </tbody>
            </table>`
    }
  `;
}
