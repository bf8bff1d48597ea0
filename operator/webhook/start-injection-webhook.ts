import { readFileSync } from "node:fs";
import type { KubeConfig } from "@kubernetes/client-node";
import type { Logger } from "pino";
import { CRD_API_VERSION } from "../../core/crds/common.js";
import type { BuildOptions } from "../builders/common.js";
import type { MessageDomain } from "../k8s-types.js";
import { KubeObjects } from "../kube-objects.js";
import { startInjectionWebhookServer, type InjectionWebhookServer } from "./injection-webhook-server.js";
import { ensureCaBundle, ensureWebhookTls, servingHosts } from "./webhook-tls.js";

/** Where the serving certificate comes from. */
export type InjectionWebhookTls =
  /** The operator makes and renews it in a Secret and patches the caBundle (the default). */
  | {
      mode: "self-managed";
      namespace: string;
      secretName: string;
      serviceName: string;
      webhookConfigurationName: string;
      /** More names or IPv4 addresses for the certificate, e.g. 127.0.0.1 when the webhook is called by url. */
      extraHosts?: readonly string[];
    }
  /** PEM files someone else keeps current (cert-manager, whose CA injector also sets the caBundle). */
  | { mode: "files"; certFile: string; keyFile: string };

export interface InjectionWebhookOptions {
  host: string;
  port: number;
  tls: InjectionWebhookTls;
  buildOptions?: BuildOptions;
}

export interface RunningInjectionWebhook {
  stop(): Promise<void>;
}

/** Until it serves, a failed start is tried again this often; then the certificate is checked this often. */
const RETRY_MS = 5_000;
const MAINTAIN_MS = 60_000;

/**
 * Serves the injection webhook on every replica (the Service picks any Ready one; no Lease needed). Each round
 * makes sure of the certificate (self-managed: the Secret and the caBundle; files: reads them again, as
 * cert-manager rotates them) and gives the server a renewed one.
 */
export function startInjectionWebhook(
  kubeConfig: KubeConfig,
  options: InjectionWebhookOptions,
  logger: Logger,
): RunningInjectionWebhook {
  const objects = new KubeObjects(kubeConfig);
  const log = logger.child({ component: "injection-webhook" });
  let server: InjectionWebhookServer | undefined;
  let servedCert = "";
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let lastError = "";
  let pending: Promise<void> = Promise.resolve();
  // Read through a function after awaits: stop() changes it meanwhile, which narrowing cannot see.
  const isStopped = (): boolean => stopped;

  const currentTls = async (): Promise<{ cert: string; key: string }> => {
    const { tls } = options;
    if (tls.mode === "files")
      return { cert: readFileSync(tls.certFile, "utf8"), key: readFileSync(tls.keyFile, "utf8") };
    const current = await ensureWebhookTls(kubeConfig, {
      namespace: tls.namespace,
      secretName: tls.secretName,
      hosts: servingHosts(tls.serviceName, tls.namespace, tls.extraHosts),
    });
    if (await ensureCaBundle(kubeConfig, tls.webhookConfigurationName, current.ca))
      log.info({ webhookConfiguration: tls.webhookConfigurationName }, "caBundle set");
    return current;
  };

  const round = async (): Promise<void> => {
    try {
      const { cert, key } = await currentTls();
      if (stopped) return;
      if (server === undefined) {
        server = await startInjectionWebhookServer({
          host: options.host,
          port: options.port,
          cert,
          key,
          readDomain: (namespace, name) =>
            objects.read<MessageDomain>({
              apiVersion: CRD_API_VERSION,
              kind: "MessageDomain",
              metadata: { name, namespace },
            }),
          ...(options.buildOptions === undefined ? {} : { buildOptions: options.buildOptions }),
          onDecision: (decision) => {
            log.info(decision, `sidecar injection: ${decision.outcome}`);
          },
          onError: (error) => {
            log.warn({ err: error }, "sidecar injection failed");
          },
        });
        log.info({ port: server.port }, "injection webhook listening");
        // stop() came while it started: it found no server to close.
        if (isStopped()) await server.close();
      } else if (cert !== servedCert) {
        server.setCertificate(cert, key);
        log.info("injection webhook: serving a renewed certificate");
      }
      servedCert = cert;
      lastError = "";
    } catch (error) {
      const message = (error as Error).message;
      if (message !== lastError)
        log.warn({ err: error }, "injection webhook: certificate or listener not ready; retrying");
      lastError = message;
    }
    if (!stopped)
      timer = setTimeout(
        () => void round(),
        server === undefined || lastError !== "" ? RETRY_MS : MAINTAIN_MS,
      );
  };
  pending = round();
  return {
    async stop() {
      stopped = true;
      if (timer !== undefined) clearTimeout(timer);
      await pending;
      await server?.close();
    },
  };
}
