import type { Command } from "commander";
import { isBmnError } from "../../core/errors.js";
import type { RunningGateway } from "../../gateway/start-gateway.js";
import { closeOnSignal } from "../close-on-signal.js";
import { CliError } from "../errors.js";
import type { RegisterCommand } from "./index.js";

interface GatewayFlags {
  host?: string;
  port?: string;
  domain?: string;
  store?: string;
  redisUrl?: string;
  id?: string;
}

/**
 * `bmn gateway`: runs this domain's gateway in the foreground (the inter-domain protocol and the forwarders of the
 * domain's outboxes) until SIGINT or SIGTERM, then drains: stops receiving, finishes the batch in flight, releases
 * the leases it holds and closes.
 */
export const registerGateway: RegisterCommand = (program) => {
  program
    .command("gateway")
    .description("run this domain's gateway: forwards outboxes to peer domains and receives from them")
    .option("--host <host>", "address to listen on (gateway.host, default 127.0.0.1)")
    .option("--port <port>", "port to listen on (gateway.port, default 7430)")
    .option("--domain <domain>", "this domain (BMN_DOMAIN, default local)")
    .option(
      "--store <type>",
      "memory, redis or tidb (BMN_STORE): the domain's store, shared with its sidecars",
    )
    .option("--redis-url <url>", "redis:// URL (BMN_REDIS_URL)")
    .option("--id <id>", "this replica's id in traces (gateway.id, default host name and pid)")
    .addHelpText(
      "after",
      `
The config file (--config or BMN_CONFIG) is a sidecar config with a "gateway" section: peers, tokens, TLS,
batching, compression, retry, policy. See docs/gateways.md.

Examples:
  bmn gateway --config team-a.json
  bmn gateway --config team-a.json --port 7431 --store redis --redis-url redis://127.0.0.1:6379`,
    )
    .action(async (flags: GatewayFlags, command: Command) => {
      const globals = command.optsWithGlobals<{ config?: string; verbose?: boolean }>();
      const env = globals.config === undefined ? process.env : { ...process.env, BMN_CONFIG: globals.config };
      const overrides: Record<string, unknown> = {
        domain: flags.domain,
        store: {
          type: flags.store,
          ...(flags.redisUrl === undefined ? {} : { redis: { url: flags.redisUrl } }),
        },
        gateway: {
          host: flags.host,
          port: flags.port === undefined ? undefined : Number(flags.port),
          id: flags.id,
        },
        ...(globals.verbose === true ? { logLevel: "debug" } : {}),
      };
      let gateway: RunningGateway;
      try {
        // Loaded here, not at the top, so other commands load no gateway code.
        const { loadConfig } = await import("../../runtime/config/load-config.js");
        const { startGateway } = await import("../../gateway/start-gateway.js");
        gateway = await startGateway(loadConfig(overrides, env));
      } catch (error) {
        throw new CliError(gatewayFailure(error));
      }
      process.stdout.write(`bmn gateway ${gateway.domain} listening on ${gateway.url}\n`);
      if (!gateway.store.durable)
        process.stderr.write(
          "WARNING: in-memory store: the gateway shares nothing with a sidecar in another process. Use --store redis.\n",
        );
      closeOnSignal("draining the gateway", () => gateway.close());
    });
};

/** One line saying what to fix when the gateway cannot start. */
function gatewayFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isBmnError(error) && error.code === "STORE_UNAVAILABLE")
    return `cannot start the gateway: ${message} — check BMN_REDIS_URL (or --redis-url) and that the store is running`;
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  if (code === "EADDRINUSE")
    return `cannot start the gateway: ${message} — another process listens there; set gateway.port (or --port)`;
  if (code === "ENOENT")
    return `cannot start the gateway: ${message} — check the gateway.tls and peers[].tls file paths`;
  return `cannot start the gateway: ${message}`;
}
