import { readFileSync } from "node:fs";
import type { KubeConfig, V1ConfigMap } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { KubeObjects } from "../kube-objects.js";
import { startExternalMetricsServer, type ExternalMetricsServer } from "./external-metrics-server.js";
import { StoreMetricsSource } from "./store-metrics-source.js";

/** Where every cluster publishes the front proxy's CA for aggregated API servers. */
const AUTHENTICATION_CONFIG_MAP = { namespace: "kube-system", name: "extension-apiserver-authentication" };
const RETRY_MS = 5_000;

export interface ExternalMetricsOptions {
  host: string;
  port: number;
  /** PEM files of the serving certificate and key (the chart mounts them from a Secret). */
  certFile: string;
  keyFile: string;
}

export interface RunningExternalMetrics {
  stop(): Promise<void>;
}

/**
 * Serves the external metrics API on every replica (the APIService's Service picks any Ready one; reading
 * queue depths needs no Lease). It needs the request-header CA first: until the ConfigMap can be read (RBAC,
 * a slow apiserver) it tries again every RETRY_MS and logs the reason once per change.
 */
export function startExternalMetrics(
  kubeConfig: KubeConfig,
  options: ExternalMetricsOptions,
  logger: Logger,
): RunningExternalMetrics {
  const objects = new KubeObjects(kubeConfig);
  const source = new StoreMetricsSource(kubeConfig);
  let server: ExternalMetricsServer | undefined;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastError = "";
  const attempt = async (): Promise<void> => {
    try {
      const configMap = await objects.read<V1ConfigMap>({
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: AUTHENTICATION_CONFIG_MAP,
      });
      const clientCa = configMap?.data?.["requestheader-client-ca-file"];
      if (clientCa === undefined || clientCa === "") {
        throw new Error("kube-system/extension-apiserver-authentication has no requestheader-client-ca-file");
      }
      const allowedNames = JSON.parse(configMap?.data?.["requestheader-allowed-names"] ?? "[]") as string[];
      if (stopped) return;
      server = await startExternalMetricsServer({
        host: options.host,
        port: options.port,
        cert: readFileSync(options.certFile),
        key: readFileSync(options.keyFile),
        clientCa,
        allowedNames,
        source,
        onError: (error) => {
          logger.warn({ err: error }, "external metrics: reading a value failed");
        },
      });
      logger.info({ port: server.port, allowedNames }, "external metrics API listening");
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError)
        logger.warn({ err: error }, "external metrics API not started yet; retrying");
      lastError = message;
      if (!stopped) timer = setTimeout(() => void attempt(), RETRY_MS);
    }
  };
  void attempt();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await server?.close();
      await source.close();
    },
  };
}
