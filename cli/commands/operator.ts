import type { Command } from "commander";
import type { RegisterCommand } from "./index.js";
import type { RunningOperator } from "../../operator/run-operator.js";
import type { InjectionWebhookOptions } from "../../operator/webhook/start-injection-webhook.js";
import { CliError, UsageError } from "../errors.js";

interface OperatorFlags {
  kubeconfig?: string;
  namespace?: string;
  leaderElect: boolean;
  leaseNamespace?: string;
  leaseName: string;
  leaseDuration: string;
  renewDeadline: string;
  retryPeriod: string;
  identity?: string;
  host?: string;
  port: string;
  defaultImage?: string;
  networkPolicies: boolean;
  resync: string;
  storeProbeInterval: string;
  refreshInterval: string;
  metricsApiPort: string;
  metricsApiCert?: string;
  metricsApiKey?: string;
  injectionPort: string;
  injectionService?: string;
  injectionSecret: string;
  injectionWebhookConfig: string;
  injectionNamespace?: string;
  injectionExtraHost: string[];
  injectionCert?: string;
  injectionKey?: string;
  logLevel: string;
}

/** Stop waiting for controllers and the Lease release after this long; the kubelet's grace period is 30 s. */
const SHUTDOWN_TIMEOUT_MS = 25_000;

function seconds(flag: string, value: string, allowZero = false): number {
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0 || (!allowZero && parsed === 0))
    throw new UsageError(`${flag} must be a positive number of seconds, got "${value}"`);
  return Math.round(parsed * 1000);
}

function port(value: string, flag = "--port"): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 0 || parsed > 65_535)
    throw new UsageError(`${flag} must be a whole number from 0 to 65535, got "${value}"`);
  return parsed;
}

/** The external metrics API's listener from the flags; nothing when --metrics-api-port is 0. */
function externalMetricsOptions(
  flags: OperatorFlags,
  host: string,
): { externalMetrics?: { host: string; port: number; certFile: string; keyFile: string } } {
  const metricsPort = port(flags.metricsApiPort, "--metrics-api-port");
  if (metricsPort === 0) return {};
  if (flags.metricsApiCert === undefined || flags.metricsApiKey === undefined) {
    throw new UsageError("--metrics-api-port needs --metrics-api-cert and --metrics-api-key (PEM files)");
  }
  return {
    externalMetrics: {
      host,
      port: metricsPort,
      certFile: flags.metricsApiCert,
      keyFile: flags.metricsApiKey,
    },
  };
}

/** The injection webhook's listener from the flags; nothing when --injection-port is 0. */
function injectionWebhookOptions(
  flags: OperatorFlags,
  host: string,
  namespace: string | undefined,
): { injectionWebhook?: Omit<InjectionWebhookOptions, "buildOptions"> } {
  const injectionPort = port(flags.injectionPort, "--injection-port");
  if (injectionPort === 0) return {};
  if ((flags.injectionCert === undefined) !== (flags.injectionKey === undefined))
    throw new UsageError(
      "--injection-cert and --injection-key go together (PEM files, e.g. from cert-manager)",
    );
  if (flags.injectionCert !== undefined && flags.injectionKey !== undefined)
    return {
      injectionWebhook: {
        host,
        port: injectionPort,
        tls: { mode: "files", certFile: flags.injectionCert, keyFile: flags.injectionKey },
      },
    };
  if (flags.injectionService === undefined)
    throw new UsageError(
      "--injection-port needs --injection-service (the webhook's Service, named in its certificate) or --injection-cert and --injection-key",
    );
  if (namespace === undefined)
    throw new UsageError(
      "out of cluster, the injection webhook needs --injection-namespace (or POD_NAMESPACE)",
    );
  return {
    injectionWebhook: {
      host,
      port: injectionPort,
      tls: {
        mode: "self-managed",
        namespace,
        secretName: flags.injectionSecret,
        serviceName: flags.injectionService,
        webhookConfigurationName: flags.injectionWebhookConfig,
        extraHosts: flags.injectionExtraHost,
      },
    },
  };
}

/**
 * `bmn operator`: runs the Kubernetes operator in the foreground (in a pod: the Helm chart's Deployment) until
 * SIGINT or SIGTERM, then stops the controllers, releases the leader Lease and exits 0. Exits 1 when the
 * Lease is lost, so Kubernetes restarts the replica as a fresh candidate.
 */
export const registerOperator: RegisterCommand = (program) => {
  program
    .command("operator")
    .description("run the Kubernetes operator (leader election, /healthz /readyz /metrics)")
    .option("--kubeconfig <file>", "kubeconfig (default: KUBECONFIG, ~/.kube/config, or in-cluster)")
    .option("--namespace <namespace>", "watch this namespace only (BMN_WATCH_NAMESPACE; default all)")
    .option("--no-leader-elect", "run the controllers without leader election (one replica only)")
    .option("--lease-namespace <namespace>", "namespace of the leader Lease (default: POD_NAMESPACE)")
    .option("--lease-name <name>", "name of the leader Lease", "bmn-operator")
    .option("--lease-duration <seconds>", "how long a dead leader keeps the Lease", "15")
    .option("--renew-deadline <seconds>", "the leader steps down when it cannot renew for this long", "10")
    .option("--retry-period <seconds>", "how often to try to acquire or renew the Lease", "2")
    .option("--identity <id>", "this replica's Lease holder identity (default: <POD_NAME or hostname>_<pid>)")
    .option("--host <host>", "address of /healthz /readyz /metrics (BMN_HOST, default 127.0.0.1)")
    .option("--port <port>", "port of /healthz /readyz /metrics (0 picks one)", "8080")
    .option("--default-image <image>", "sidecar image when neither the resource nor its domain names one")
    .option("--no-network-policies", "render no default NetworkPolicy for gateway and agent pods")
    .option("--resync <seconds>", "requeue every cached resource this often (0 turns it off)", "300")
    .option("--store-probe-interval <seconds>", "probe each MessageDomain's store this often", "30")
    .option(
      "--refresh-interval <seconds>",
      "read Gateways' Secrets and peer links and AgentEndpoints' queues again this often",
      "30",
    )
    .option("--log-level <level>", "pino log level", "info")
    .option(
      "--metrics-api-port <port>",
      "serve external.metrics.k8s.io over HTTPS on this port (0: off)",
      "0",
    )
    .option("--metrics-api-cert <file>", "serving certificate (PEM) of the external metrics API")
    .option("--metrics-api-key <file>", "serving key (PEM) of the external metrics API")
    .option(
      "--injection-port <port>",
      "serve the sidecar injection webhook over HTTPS on this port (0: off)",
      "0",
    )
    .option(
      "--injection-service <name>",
      "the webhook's Service, named in the certificate the operator makes",
    )
    .option(
      "--injection-secret <name>",
      "Secret the operator keeps the webhook's CA and certificate in",
      "bmn-injection-webhook-tls",
    )
    .option(
      "--injection-webhook-config <name>",
      "MutatingWebhookConfiguration whose caBundle the operator sets",
      "bmn-sidecar-injector",
    )
    .option(
      "--injection-namespace <namespace>",
      "namespace of the Service and Secret (default: POD_NAMESPACE)",
    )
    .option(
      "--injection-extra-host <host>",
      "another name or IPv4 address for the certificate (repeatable)",
      (value: string, previous: string[]) => [...previous, value],
      [] as string[],
    )
    .option("--injection-cert <file>", "serving certificate (PEM) kept by someone else, e.g. cert-manager")
    .option("--injection-key <file>", "its key (PEM)")
    .action(async (flags: OperatorFlags, command: Command) => {
      // Loaded here, not at the top: the Kubernetes client alone costs other commands tens of MB and a second.
      const { defaultIdentity, defaultLeaseNamespace, loadKubeConfig, runOperator } =
        await import("../../operator/run-operator.js");
      const { pino } = await import("pino");
      const verbose = command.optsWithGlobals<{ verbose?: boolean }>().verbose ?? false;
      const logger = pino({
        level: verbose ? "debug" : flags.logLevel,
        base: { component: "operator" },
        // "info", not 30: what log tooling and people read.
        formatters: { level: (label) => ({ level: label }) },
      });
      const watchNamespace = flags.namespace ?? process.env.BMN_WATCH_NAMESPACE;
      const leaseDurationMs = seconds("--lease-duration", flags.leaseDuration);
      const renewDeadlineMs = seconds("--renew-deadline", flags.renewDeadline);
      const retryPeriodMs = seconds("--retry-period", flags.retryPeriod);
      if (!(retryPeriodMs < renewDeadlineMs && renewDeadlineMs < leaseDurationMs))
        throw new UsageError("need --retry-period < --renew-deadline < --lease-duration");
      const leaseNamespace = flags.leaseNamespace ?? defaultLeaseNamespace();
      // Every listener of the process (probes and metrics, external metrics, the injection webhook) binds here.
      const host = flags.host ?? process.env.BMN_HOST ?? "127.0.0.1";
      if (flags.leaderElect && leaseNamespace === undefined)
        throw new UsageError(
          "out of cluster, leader election needs --lease-namespace (or POD_NAMESPACE): the namespace where the operator may write its Lease",
        );
      let operator: RunningOperator;
      try {
        operator = await runOperator({
          kubeConfig: loadKubeConfig(flags.kubeconfig ?? undefined),
          logger,
          ...(watchNamespace === undefined || watchNamespace === "" ? {} : { watchNamespace }),
          leaderElection: {
            enabled: flags.leaderElect,
            // Only read when leader election is on, which the check above guarantees a namespace for.
            namespace: leaseNamespace ?? "",
            name: flags.leaseName,
            identity: flags.identity ?? defaultIdentity(),
            leaseDurationMs,
            renewDeadlineMs,
            retryPeriodMs,
          },
          host,
          port: port(flags.port),
          ...(flags.defaultImage === undefined ? {} : { defaultImage: flags.defaultImage }),
          networkPolicies: flags.networkPolicies,
          resyncMs: seconds("--resync", flags.resync, true),
          storeProbeIntervalMs: seconds("--store-probe-interval", flags.storeProbeInterval),
          refreshIntervalMs: seconds("--refresh-interval", flags.refreshInterval),
          ...externalMetricsOptions(flags, host),
          ...injectionWebhookOptions(flags, host, flags.injectionNamespace ?? defaultLeaseNamespace()),
        });
      } catch (error) {
        throw new CliError(`cannot start the operator: ${(error as Error).message}`);
      }

      const exit = (code: number): void => {
        logger.flush();
        process.exit(code);
      };
      void operator.ended.then(async (reason) => {
        logger.error({ reason }, "operator ended");
        await operator.stop();
        exit(1);
      });
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, "shutting down: stopping controllers, releasing the lease");
        setTimeout(() => {
          logger.error("shutdown took too long");
          exit(1);
        }, SHUTDOWN_TIMEOUT_MS).unref();
        operator.stop().then(
          () => {
            exit(0);
          },
          (error: unknown) => {
            logger.error({ err: error }, "shutdown failed");
            exit(1);
          },
        );
      };
      process.once("SIGINT", () => {
        stop("SIGINT");
      });
      process.once("SIGTERM", () => {
        stop("SIGTERM");
      });
    });
};
