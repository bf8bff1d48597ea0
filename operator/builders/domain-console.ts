/**
 * `spec.console` of a MessageDomain → Deployment `<domain>-bmn-console` (one pod: `bmn console` on the pod IP and
 * an unbound sidecar of the domain on its loopback, which the console's `/api` forwards to), a ClusterIP Service
 * and the default NetworkPolicy. The console is reachable beyond loopback, so it always has a token: from the
 * Secret key `tokenSecretRef` names, or from a Secret the operator generates once (`buildConsoleTokenSecret`).
 */
import { randomBytes } from "node:crypto";
import type { DomainConsole } from "../../core/crds/message-domain.js";
import type { Deployment, MessageDomain, NetworkPolicy, SecretKeySelector, Service } from "../k8s-types.js";
import { type BuildOptions, childMeta, commonLabels, LABEL_DOMAIN } from "./common.js";
import {
  buildDomainWorkload,
  DEFAULT_WORKLOAD_RESOURCES,
  domainWorkloadName,
  LOOPBACK_SIDECAR_URL,
} from "./domain-sidecar.js";
import { domainNameOf, resolveDomainSpec } from "./message-domain.js";

const APP = "bmn-console";
/** The console's port in the pod and on its Service (`bmn console`'s default). */
export const CONSOLE_PORT = 7430;
/** The key of the Secret the operator generates. */
export const GENERATED_TOKEN_KEY = "token";
const TOKEN_VOLUME = "bmn-console-token";
export const CONSOLE_TOKEN_DIR = "/etc/bmn-console-token";
export const CONSOLE_TOKEN_FILE = `${CONSOLE_TOKEN_DIR}/token`;
/** On the pod template: a digest of the token, so a rotated token rolls the pod (the console reads it at start). */
export const ANNOTATION_TOKEN_HASH = "beastmode.network/token-hash";

export interface ConsoleChildren {
  deployment: Deployment;
  service: Service;
  /** Present unless the operator's option turns NetworkPolicies off. */
  networkPolicy?: NetworkPolicy;
}

/** The name of the console's Deployment, Service and NetworkPolicy. */
export function consoleChildName(domain: MessageDomain): string {
  return domainWorkloadName(domain, APP);
}

/** The console's spec, or undefined when it is not enabled. */
export function enabledConsole(domain: MessageDomain): DomainConsole | undefined {
  const settings = resolveDomainSpec(domain).console;
  return settings.enabled ? settings : undefined;
}

/** The name of the Secret the operator generates when `tokenSecretRef` is unset. */
export function generatedTokenSecretName(domain: MessageDomain): string {
  return `${domainNameOf(domain)}-bmn-console-token`;
}

/** Where the console's token is: the user's Secret key, or the one the operator generates. */
export function consoleTokenRef(domain: MessageDomain): SecretKeySelector & { generated: boolean } {
  const ref = resolveDomainSpec(domain).console.tokenSecretRef;
  return ref === undefined
    ? { name: generatedTokenSecretName(domain), key: GENERATED_TOKEN_KEY, generated: true }
    : { ...ref, generated: false };
}

/** A Secret the operator owns, with one key. */
export interface OwnedSecret {
  apiVersion: "v1";
  kind: "Secret";
  metadata: ReturnType<typeof childMeta>;
  type: "Opaque";
  data: Record<string, string>;
}

/** A fresh random token (256 bits, base64url: what `GATEWAY_TOKEN_PATTERN` takes). */
export function newConsoleToken(): string {
  return randomBytes(32).toString("base64url");
}

/** The generated token Secret, owned by the domain (garbage-collected with it). */
export function buildConsoleTokenSecret(domain: MessageDomain, token: string): OwnedSecret {
  const labels = commonLabels(APP, "console", domain, { [LABEL_DOMAIN]: domainNameOf(domain) });
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: childMeta(domain, generatedTokenSecretName(domain), labels),
    type: "Opaque",
    data: { [GENERATED_TOKEN_KEY]: Buffer.from(token, "utf8").toString("base64") },
  };
}

/** `bmn console` in the pod: on every address, the sidecar beside it, the token from the mounted Secret. */
export function consoleArgs(settings: DomainConsole): string[] {
  return [
    "console",
    "--host",
    "0.0.0.0",
    "--port",
    String(CONSOLE_PORT),
    "--sidecar",
    LOOPBACK_SIDECAR_URL,
    "--token-file",
    CONSOLE_TOKEN_FILE,
    ...(settings.traceUrl === undefined ? [] : ["--trace-url", settings.traceUrl]),
  ];
}

/**
 * Deployment, Service and NetworkPolicy of an enabled console (a BuildError when it is not). One replica: the
 * console's CSRF token is per process, so a page served by one replica could not call another.
 */
export function buildConsoleChildren(
  domain: MessageDomain,
  options: BuildOptions = {},
  /** A digest of the token's value, read by the reconciler: the pod rolls when the token rotates. */
  tokenHash?: string,
): ConsoleChildren {
  const settings = resolveDomainSpec(domain).console;
  const token = consoleTokenRef(domain);
  const workload = buildDomainWorkload(
    domain,
    {
      app: APP,
      component: "console",
      image: settings.image,
      container: {
        name: "console",
        args: consoleArgs(settings),
        ports: [{ name: "console", containerPort: CONSOLE_PORT, protocol: "TCP" }],
        resources: settings.resources ?? DEFAULT_WORKLOAD_RESOURCES,
        // The sign-in page answers without a token once the console listens.
        readinessProbe: {
          httpGet: { path: "/login", port: "console" },
          periodSeconds: 10,
          failureThreshold: 3,
        },
        livenessProbe: {
          tcpSocket: { port: "console" },
          initialDelaySeconds: 10,
          periodSeconds: 10,
          failureThreshold: 6,
        },
        volumeMounts: [{ name: TOKEN_VOLUME, mountPath: CONSOLE_TOKEN_DIR, readOnly: true }],
      },
      volumes: [
        {
          name: TOKEN_VOLUME,
          secret: { secretName: token.name, items: [{ key: token.key, path: "token" }], defaultMode: 0o440 },
        },
      ],
      ...(tokenHash === undefined ? {} : { annotations: { [ANNOTATION_TOKEN_HASH]: tokenHash } }),
      // The console (its token guards it); the sidecar's API stays on loopback.
      ingressPorts: [CONSOLE_PORT],
    },
    options,
  );
  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: childMeta(domain, consoleChildName(domain), workload.labels),
    spec: {
      type: "ClusterIP",
      selector: workload.selector,
      ports: [{ name: "console", port: CONSOLE_PORT, targetPort: "console", protocol: "TCP" }],
    },
  };
  return {
    deployment: workload.deployment,
    service,
    ...(workload.networkPolicy === undefined ? {} : { networkPolicy: workload.networkPolicy }),
  };
}
