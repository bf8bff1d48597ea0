import type { Topology } from "../../sidecar/gateway/topology.js";
import { CliError } from "../errors.js";
import type { RegisterCommand } from "./index.js";

interface TopologyFlags {
  gateway?: string;
  json?: boolean;
}

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:7430";

/** `bmn topology`: a gateway's view of the network: domains, links with their state, routes, backlog per link. */
export const registerTopology: RegisterCommand = (program, env) => {
  program
    .command("topology")
    .description("show a gateway's domains, links (up/down, breaker), routes and backlog per link")
    .option("--gateway <url>", `the gateway to ask (BMN_GATEWAY_URL, default ${DEFAULT_GATEWAY_URL})`)
    .option("--json", "print the topology as JSON")
    .action(async (flags: TopologyFlags) => {
      const base = flags.gateway ?? env.io.env.BMN_GATEWAY_URL ?? DEFAULT_GATEWAY_URL;
      let url: URL;
      try {
        url = new URL("/v1/topology", base);
      } catch {
        throw new CliError(`--gateway ${base} is not a URL; give e.g. ${DEFAULT_GATEWAY_URL}`);
      }
      let topology: Topology;
      try {
        const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new CliError(`the gateway at ${base} answered ${response.status}`);
        topology = (await response.json()) as Topology;
      } catch (error) {
        if (error instanceof CliError) throw error;
        throw new CliError(
          `cannot reach the gateway at ${base}: ${(error as Error).message} — start one with "bmn gateway" or pass --gateway`,
        );
      }
      const out = (line: string): void => {
        env.io.out(`${line}\n`);
      };
      if (flags.json === true) {
        out(JSON.stringify(topology));
        return;
      }
      for (const line of formatTopology(topology)) out(line);
    });
};

/** The human-readable topology: one block for links, one for routes. */
export function formatTopology(topology: Topology): string[] {
  const lines = [
    `domain ${topology.domain} (gateway ${topology.gateway}); reachable: ${topology.domains.join(", ")}`,
    "",
    "LINK       STATE    BREAKER    RTT       BACKLOG  IN FLIGHT  OLDEST    ENDPOINT",
  ];
  for (const link of topology.links) {
    const rtt = link.lastRttMs === undefined ? "-" : `${link.lastRttMs.toFixed(1)}ms`;
    lines.push(
      [
        link.peer.padEnd(10),
        link.state.padEnd(8),
        link.breaker.padEnd(10),
        rtt.padEnd(9),
        String(link.backlog.depth).padEnd(8),
        String(link.backlog.inFlight).padEnd(10),
        `${(link.backlog.oldestAgeMs / 1_000).toFixed(1)}s`.padEnd(9),
        link.endpoint,
      ].join(" "),
    );
    if (link.lastError !== undefined && link.state !== "up")
      lines.push(`           last error: ${link.lastError}`);
  }
  lines.push("", "ROUTE      HOPS  NEXT HOP   PATH");
  for (const route of topology.routes)
    lines.push(
      `${route.domain.padEnd(10)} ${String(route.hops).padEnd(5)} ${route.nextHop.padEnd(10)} ${route.path.join(" -> ")}`,
    );
  if (topology.routes.length === 0) lines.push("(no routes: no link is up)");
  return lines;
}
