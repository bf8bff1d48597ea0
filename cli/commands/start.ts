import type { Command } from "commander";
import type { RegisterCommand } from "./index.js";
import { isBmnError } from "../../core/errors.js";
import type { RunningSidecar } from "../../sidecar/start-sidecar.js";
import { closeOnSignal } from "../close-on-signal.js";
import { CliError } from "../errors.js";

interface StartFlags {
  host?: string;
  port?: string;
  domain?: string;
  store?: string;
  redisUrl?: string;
  crossDomain?: boolean;
  probePort?: string;
  verbose?: boolean;
}

/** `bmn start`: runs a sidecar in the foreground until SIGINT or SIGTERM, then drains and exits. */
export const registerStart: RegisterCommand = (program) => {
  program
    .command("start")
    .description("run a sidecar (in-memory store unless BMN_STORE / --store says otherwise)")
    .option("--host <host>", "address to listen on (BMN_HOST, default 127.0.0.1)")
    .option("--port <port>", "port to listen on (BMN_PORT, default 7420)")
    .option("--domain <domain>", "this sidecar's MessageDomain (BMN_DOMAIN, default local)")
    .option("--store <type>", "memory, redis or tidb (BMN_STORE, default memory)")
    .option("--redis-url <url>", "redis:// URL (BMN_REDIS_URL)")
    .option(
      "--probe-port <port>",
      "also serve /healthz, /readyz and /metrics alone on this port (BMN_PROBE_PORT; host BMN_PROBE_HOST)",
    )
    .option(
      "--cross-domain",
      "accept messages for name@other-domain into that domain's outbox for a gateway (BMN_ROUTING_CROSS_DOMAIN)",
    )
    .action(async (flags: StartFlags, command: Command) => {
      const verbose =
        (command.optsWithGlobals<{ verbose?: boolean }>().verbose ?? false) || flags.verbose === true;
      const overrides: Record<string, unknown> = {
        host: flags.host,
        port: flags.port === undefined ? undefined : Number(flags.port),
        domain: flags.domain,
        store: {
          type: flags.store,
          ...(flags.redisUrl === undefined ? {} : { redis: { url: flags.redisUrl } }),
        },
        ...(flags.crossDomain === true ? { routing: { crossDomain: true } } : {}),
        ...(flags.probePort === undefined ? {} : { server: { probePort: Number(flags.probePort) } }),
        ...(verbose ? { logLevel: "debug" } : {}),
      };
      let sidecar: RunningSidecar;
      try {
        // Loaded here, not at the top: every other command (bmn send, ...) stays free of server and config code.
        const { loadConfig } = await import("../../runtime/config/load-config.js");
        const { startSidecar } = await import("../../sidecar/start-sidecar.js");
        sidecar = await startSidecar(loadConfig(overrides));
      } catch (error) {
        throw new CliError(startFailure(error));
      }
      const config = sidecar.config;
      printBanner(sidecar.url, config.store.type, config.domain, sidecar.store.durable);
      if (sidecar.probe !== undefined) process.stderr.write(`probes and metrics on ${sidecar.probe.url}\n`);
      if (config.agents !== undefined)
        process.stderr.write(`acting only for agent(s) ${config.agents.join(", ")} (BMN_AGENT)\n`);
      if (config.server.apiToken !== undefined || config.server.apiTokenFile !== undefined)
        process.stderr.write("the API needs a token: clients send BMN_API_TOKEN\n");
      closeOnSignal("draining in-flight requests", () => sidecar.close());
    });
};

/** One line saying what to fix when the sidecar cannot start. */
function startFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  if (isBmnError(error) && error.code === "STORE_UNAVAILABLE") {
    return `cannot start: ${message} — check BMN_REDIS_URL (or --redis-url) and that the store is running`;
  }
  if ((error as NodeJS.ErrnoException | undefined)?.code === "EADDRINUSE") {
    return `cannot start: ${message} — another process listens there; set BMN_PORT (or --port)`;
  }
  return `cannot start: ${message}`;
}

function printBanner(url: string, store: string, domain: string, durable: boolean): void {
  const lines = [
    `bmn sidecar listening on ${url} (domain ${domain}, store ${store})`,
    ...(durable
      ? []
      : [
          "WARNING: in-memory store: messages live in this process only and die with it. Use --store redis for durability.",
        ]),
    "",
    "Try it from another shell:",
    `  npx bmn send alice "hello"            # queue a message for agent alice`,
    `  npx bmn listen --agent alice          # receive (and ack) alice's messages`,
    `  curl -s ${url}/v1/agents/alice/messages?wait=5`,
    "",
  ];
  process.stderr.write(`${lines.join("\n")}\n`);
}
