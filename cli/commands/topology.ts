import type { Command } from "commander";
import type { GatewayTopologyView, SidecarTopology } from "../../core/api/topology-api.js";
import type { CommandEnv } from "../context.js";
import { CliError } from "../errors.js";
import type { RegisterCommand } from "./index.js";

interface TopologyFlags {
  gateway?: string;
  json?: boolean;
}

export const DEFAULT_GATEWAY_URL = "http://127.0.0.1:7430";
const REQUEST_TIMEOUT_MS = 10_000;

/**
 * `bmn topology`: the network as the sidecar sees it (its domain, the outbox backlog per destination, and the
 * links and routes of the gateways listed in its `routing.gateways`), or with `--gateway` (or BMN_GATEWAY_URL) one
 * gateway's own view: domains, links with their state, routes, backlog per link.
 */
export const registerTopology: RegisterCommand = (program, env) => {
  program
    .command("topology")
    .description(
      "show the domain's outbox backlog and its gateways' links (up/down, breaker) and routes; --gateway asks one gateway",
    )
    .option(
      "--gateway <url>",
      "ask this gateway directly instead of the sidecar (also BMN_GATEWAY_URL), e.g. " + DEFAULT_GATEWAY_URL,
    )
    .option("--json", "print the topology as JSON")
    .action(async (flags: TopologyFlags, command: Command) => {
      const out = (line: string): void => {
        env.io.out(`${line}\n`);
      };
      const gateway = flags.gateway ?? nonEmpty(env.io.env.BMN_GATEWAY_URL);
      if (gateway !== undefined) {
        const topology = await gatewayTopology(gateway);
        if (flags.json === true) out(JSON.stringify(topology));
        else for (const line of formatTopology(topology)) out(line);
        return;
      }
      const topology = await sidecarTopology(env, command);
      if (flags.json === true) out(JSON.stringify(topology));
      else for (const line of formatSidecarTopology(topology)) out(line);
    });
};

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value;
}

async function gatewayTopology(base: string): Promise<GatewayTopologyView> {
  let url: URL;
  try {
    url = new URL("/v1/topology", base);
  } catch {
    throw new CliError(`--gateway ${base} is not a URL; give e.g. ${DEFAULT_GATEWAY_URL}`);
  }
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) });
    if (!response.ok) throw new CliError(`the gateway at ${base} answered ${response.status}`);
    return (await response.json()) as GatewayTopologyView;
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot reach the gateway at ${base}: ${(error as Error).message} — start one with "bmn gateway" or pass --gateway`,
    );
  }
}

/** Asks the sidecar (`--url`, BMN_URL, ...) for `GET /v1/topology`. */
async function sidecarTopology(env: CommandEnv, command: Command): Promise<SidecarTopology> {
  const { url: base, urlSource } = env.context(command).settings;
  const from = urlSource === "default" ? "" : ` (from ${urlSource})`;
  let body: unknown;
  try {
    const token = process.env.BMN_API_TOKEN;
    const response = await fetch(new URL("/v1/topology", base), {
      signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
      ...(token === undefined || token === "" ? {} : { headers: { authorization: `Bearer ${token}` } }),
    });
    if (response.status === 404)
      throw new CliError(
        `the sidecar at ${base}${from} has no GET /v1/topology (an older version?) — ask a gateway with --gateway`,
      );
    if (!response.ok) throw new CliError(`the sidecar at ${base}${from} answered ${response.status}`);
    body = await response.json();
  } catch (error) {
    if (error instanceof CliError) throw error;
    throw new CliError(
      `cannot reach the sidecar at ${base}${from}: ${(error as Error).message} — start one with "bmn start", set BMN_URL, or ask a gateway with --gateway`,
    );
  }
  // The API's zod schemas load here, not with the program: every other command starts faster without them.
  const { sidecarTopologySchema } = await import("../../core/api/topology-api.js");
  const parsed = sidecarTopologySchema.safeParse(body);
  if (!parsed.success) throw new CliError(`the sidecar at ${base}${from} answered an unexpected topology`);
  return parsed.data;
}

const seconds = (ms: number | null): string => (ms === null ? "-" : `${(ms / 1_000).toFixed(1)}s`);

/** The sidecar's view: its outboxes, then each gateway's links and routes (or why it could not be asked). */
export function formatSidecarTopology(topology: SidecarTopology): string[] {
  const lines = [
    `domain ${topology.domain} (sidecar; cross-domain routing ${topology.crossDomain ? "on" : "off"}); reachable: ${topology.domains.join(", ")}`,
    "",
    "OUTBOX     DEPTH    READY    DELAYED  IN FLIGHT  DLQ      OLDEST    NEXT HOP",
  ];
  for (const outbox of topology.outboxes)
    lines.push(
      [
        outbox.destination.padEnd(10),
        String(outbox.depth).padEnd(8),
        String(outbox.ready).padEnd(8),
        String(outbox.delayed).padEnd(8),
        String(outbox.inFlight).padEnd(10),
        String(outbox.deadLettered).padEnd(8),
        seconds(outbox.oldestAgeMs).padEnd(9),
        outbox.nextHop ?? "-",
      ].join(" "),
    );
  if (topology.outboxes.length === 0) lines.push("(no outboxes: nothing was sent to another domain)");
  if (topology.gateways.length === 0) {
    lines.push(
      "",
      "(no gateways listed: set routing.gateways in the sidecar config to show links and routes)",
    );
    return lines;
  }
  for (const view of topology.gateways) {
    lines.push("");
    if (view.topology === undefined) {
      lines.push(`gateway ${view.url}: unreachable (${view.error ?? "no answer"})`);
      continue;
    }
    lines.push(`gateway ${view.url}:`, ...formatTopology(view.topology).map((line) => `  ${line}`.trimEnd()));
  }
  return lines;
}

/** The human-readable topology: one block for links, one for routes. */
export function formatTopology(topology: GatewayTopologyView): string[] {
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
