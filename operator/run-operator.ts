/**
 * The operator process: the health/metrics server, leader election, and the controllers, which run only
 * while this process holds the Lease. Losing the Lease ends the run (as controller-runtime does: the process
 * exits and Kubernetes restarts it as a fresh candidate), so two replicas never reconcile at once.
 */
import { readFileSync } from "node:fs";
import { hostname } from "node:os";
import { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { startControllers, type RunningControllers } from "./controllers/start-controllers.js";
import { LeaderElector } from "./leader-election.js";
import type { ReconcileFields } from "./controllers/resource-controller.js";
import { shortError } from "./status/apply-failure.js";
import { createOperatorMetrics, startOperatorServer, type OperatorServer } from "./operator-server.js";
import { startDeletionCostUpdater } from "./scale-down/deletion-cost.js";
import {
  startExternalMetrics,
  type ExternalMetricsOptions,
} from "./external-metrics/start-external-metrics.js";
import { startInjectionWebhook, type InjectionWebhookOptions } from "./webhook/start-injection-webhook.js";

const IN_CLUSTER_NAMESPACE_FILE = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Watch one namespace only; default all. */
  watchNamespace?: string;
  leaderElection: {
    enabled: boolean;
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  host: string;
  port: number;
  /** Image for sidecars when neither the resource nor its domain names one. */
  defaultImage?: string;
  /** False: no default NetworkPolicy for any gateway or agent pod. Default true. */
  networkPolicies?: boolean;
  resyncMs?: number;
  /** How often a healthy MessageDomain's store is probed again. Default 30 s. */
  storeProbeIntervalMs?: number;
  /** How often Gateways' Secrets and peer links and AgentEndpoints' queues are read again. Default 30 s. */
  refreshIntervalMs?: number;
  /** Serve external.metrics.k8s.io (queue depths for HPAs) on this HTTPS listener; unset: not served. */
  externalMetrics?: ExternalMetricsOptions;
  /** Serve the sidecar injection webhook (docs/injection.md) on this HTTPS listener; unset: not served. */
  injectionWebhook?: Omit<InjectionWebhookOptions, "buildOptions">;
}

/** Why a run ended by itself. */
export type OperatorExit = "leader-election-lost" | "controllers-failed";

export interface RunningOperator {
  readonly server: OperatorServer;
  /** Resolves when the run ends without stop(): the process should exit non-zero. */
  readonly ended: Promise<OperatorExit>;
  /** Stops the controllers (waiting for running reconciles), releases the Lease, closes the server. */
  stop(): Promise<void>;
}

type Phase = "standby" | "starting" | "leading" | "stopping";

/** `<pod name or hostname>_<pid>`: unique per process, readable in `kubectl get lease -o yaml`. */
export function defaultIdentity(env: NodeJS.ProcessEnv = process.env): string {
  return `${env.POD_NAME ?? hostname()}_${process.pid}`;
}

/**
 * The Lease's namespace: POD_NAMESPACE (downward API), else the in-cluster namespace file; undefined out of
 * cluster (the caller then refuses to start rather than guess `default`, where it may not write).
 */
export function defaultLeaseNamespace(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.POD_NAMESPACE !== undefined && env.POD_NAMESPACE !== "") return env.POD_NAMESPACE;
  try {
    return readFileSync(IN_CLUSTER_NAMESPACE_FILE, "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

/** `--kubeconfig`, else KUBECONFIG, ~/.kube/config or the in-cluster service account. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  if (path === undefined) kubeConfig.loadFromDefault();
  else kubeConfig.loadFromFile(path);
  const cluster = kubeConfig.getCurrentCluster();
  if (cluster === null)
    throw new Error("no Kubernetes cluster configured: pass --kubeconfig or set KUBECONFIG");
  return kubeConfig;
}

export async function runOperator(options: OperatorOptions): Promise<RunningOperator> {
  const { logger } = options;
  const metrics = createOperatorMetrics();
  const election = options.leaderElection;
  let phase: Phase = election.enabled ? "standby" : "starting";
  /** The last failure to reach the Lease; undefined once an attempt reached it. */
  let leaseError: string | undefined;
  // Read through a function after awaits: stop() changes the phase meanwhile, which narrowing cannot see.
  const currentPhase = (): Phase => phase;
  let controllers: RunningControllers | undefined;
  let starting: Promise<void> | undefined;
  let endRun: (reason: OperatorExit) => void = () => undefined;
  const ended = new Promise<OperatorExit>((resolve) => {
    endRun = resolve;
  });

  const server = await startOperatorServer({
    host: options.host,
    port: options.port,
    metrics,
    notReadyReason: () => {
      if (phase === "starting") return "controllers starting";
      if (phase === "stopping") return "shutting down";
      // A standby that cannot even reach its Lease (RBAC, wrong namespace) would never take over.
      if (phase === "standby" && leaseError !== undefined)
        return `cannot contend for the lease: ${leaseError}`;
      return undefined;
    },
    unhealthyReason: () => undefined,
  });
  logger.info(
    { host: server.host, port: server.port, identity: election.identity },
    "operator server listening",
  );

  const onError = (what: string, error: unknown, fields?: ReconcileFields): void => {
    const source = what.startsWith("reconcile") ? "reconcile" : what.startsWith("event") ? "event" : "watch";
    metrics.errors.inc({ source });
    logger.warn({ ...fields, err: error }, what);
  };

  const startLeading = (): void => {
    if (phase === "stopping") return; // acquired while shutting down: stop() releases it again
    phase = "starting";
    metrics.leader.set(1);
    metrics.leadershipAcquired.inc();
    logger.info({ identity: election.identity }, "leading: starting controllers");
    starting = (async () => {
      try {
        const running = await startControllers(options.kubeConfig, {
          ...(options.watchNamespace === undefined ? {} : { namespace: options.watchNamespace }),
          ...(options.resyncMs === undefined ? {} : { resyncMs: options.resyncMs }),
          ...(options.storeProbeIntervalMs === undefined
            ? {}
            : { storeProbeIntervalMs: options.storeProbeIntervalMs }),
          ...(options.refreshIntervalMs === undefined
            ? {}
            : { refreshIntervalMs: options.refreshIntervalMs }),
          ...(options.defaultImage === undefined ? {} : { defaultImage: options.defaultImage }),
          ...(options.networkPolicies === undefined ? {} : { networkPolicies: options.networkPolicies }),
          onError,
          onReconciled: (kind, seconds, outcome, fields) => {
            metrics.reconciles.observe({ kind, outcome }, seconds);
            logger.debug({ ...fields, outcome, durationMs: Math.round(seconds * 1_000) }, "reconciled");
          },
        });
        // A shutdown that began while the caches synced must not leave the controllers running.
        if (currentPhase() !== "starting") {
          await running.stop();
          return;
        }
        controllers = running;
        phase = "leading";
        metrics.controllersRunning.set(1);
        logger.info({ namespace: options.watchNamespace ?? "(all)" }, "controllers started");
      } catch (error) {
        logger.error({ err: error }, "controllers failed to start");
        endRun("controllers-failed");
      }
    })();
  };

  const stopControllers = async (): Promise<void> => {
    await starting;
    const running = controllers;
    controllers = undefined;
    if (running !== undefined) {
      await running.stop();
      metrics.controllersRunning.set(0);
      logger.info("controllers stopped");
    }
  };

  let elector: LeaderElector | undefined;
  if (election.enabled) {
    elector = new LeaderElector(options.kubeConfig, {
      namespace: election.namespace,
      name: election.name,
      identity: election.identity,
      leaseDurationMs: election.leaseDurationMs,
      renewDeadlineMs: election.renewDeadlineMs,
      retryPeriodMs: election.retryPeriodMs,
      onStartedLeading: startLeading,
      onStoppedLeading: () => {
        logger.error({ identity: election.identity }, "leader election lost");
        phase = "stopping";
        metrics.leader.set(0);
        void stopControllers().finally(() => {
          endRun("leader-election-lost");
        });
      },
      onNewLeader: (identity) => {
        logger.info({ leader: identity }, "another replica leads; standing by");
      },
      onError: (error) => {
        metrics.errors.inc({ source: "leader-election" });
        const reason = shortError(error);
        // One line per new reason, not one per retry period.
        if (reason !== leaseError) logger.warn({ reason }, "cannot contend for the lease");
        leaseError = reason;
      },
      onContended: () => {
        if (leaseError !== undefined) logger.info("the lease is reachable again");
        leaseError = undefined;
      },
    });
    logger.info({ lease: `${election.namespace}/${election.name}` }, "standing by for the leader lease");
    elector.start();
  } else {
    startLeading();
  }

  // Scale-downs remove pods whose agents hold no work first.
  const deletionCost = startDeletionCostUpdater(options.kubeConfig, {
    ...(options.watchNamespace === undefined ? {} : { namespace: options.watchNamespace }),
    isLeader: () => currentPhase() === "leading",
    logger,
  });
  const externalMetrics =
    options.externalMetrics === undefined
      ? undefined
      : startExternalMetrics(options.kubeConfig, options.externalMetrics, logger);

  const injectionWebhook =
    options.injectionWebhook === undefined
      ? undefined
      : startInjectionWebhook(
          options.kubeConfig,
          {
            ...options.injectionWebhook,
            buildOptions: {
              ...(options.defaultImage === undefined ? {} : { defaultImage: options.defaultImage }),
            },
          },
          logger,
        );

  let stopped: Promise<void> | undefined;
  return {
    server,
    ended,
    stop() {
      stopped ??= (async () => {
        phase = "stopping";
        // Controllers stop before the Lease is released, so the next leader never overlaps with them.
        await stopControllers();
        await elector?.stop();
        metrics.leader.set(0);
        await deletionCost.stop();
        await externalMetrics?.stop();
        await injectionWebhook?.stop();
        await server.close();
        logger.info("operator stopped");
      })();
      return stopped;
    },
  };
}
