import type { SidecarConfigInput } from "../../core/config.js";
import {
  gatewaySpecSchema,
  TLS_CERT_KEY,
  TLS_KEY_KEY,
  type GatewayPeer,
  type GatewaySpec,
} from "../../core/crds/gateway.js";
import type {
  ConfigMap,
  Container,
  Deployment,
  Gateway,
  HorizontalPodAutoscaler,
  MessageDomain,
  NetworkPolicy,
  PodDisruptionBudget,
  Service,
  Volume,
  VolumeMount,
} from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  type BuildOptions,
  childMeta,
  commonLabels,
  CONFIG_MOUNT_PATH,
  DEFAULT_IMAGE,
  digest,
  LABEL_DOMAIN,
  selectorLabels,
  selectorString,
  buildAutoscaler,
  parseSpec,
  queueDepthMetricSpec,
} from "./common.js";
import { OUTBOX_METRICS } from "../external-metrics/metric-names.js";
import { fromAnywhere, ingressOnlyPolicy } from "./network-policy.js";
import { IMAGE_USER_ID, RESTRICTED_CONTAINER_SECURITY_CONTEXT, withOverride } from "./pod-security.js";
import {
  checkSidecarConfig,
  domainSidecarConfig,
  ownDomainName,
  domainStoreSecretEnv,
  resolveDomainSpec,
} from "./message-domain.js";
import { withNodeHeap } from "./node-heap.js";

const APP = "bmn-gateway";
/** Key of the gateway's config (a sidecar config with a `gateway` section, JSON) in its ConfigMap. */
export const GATEWAY_CONFIG_KEY = "config.json";
/** Where the gateway's ConfigMap is mounted: the file `--config` names. */
export const GATEWAY_CONFIG_FILE = `${CONFIG_MOUNT_PATH}/${GATEWAY_CONFIG_KEY}`;
/** Where the peers' token Secrets are projected: `<dir>/<peer domain>/token`. */
export const PEER_TOKEN_DIR = "/etc/bmn-peer-tokens";
/** The gateway listens on every address of the pod: peers and the kubelet's probes reach it on the pod IP. */
export const GATEWAY_LISTEN_HOST = "0.0.0.0";
/** Where the TLS Secrets are projected: `server/`, `client-ca/` and `peers/<peer domain>/`. */
export const TLS_DIR = "/etc/bmn-tls";
/** On the pod template: a digest of every Secret key the pods mount, so a rotated token or certificate rolls them. */
export const ANNOTATION_SECRETS_HASH = "beastmode.network/secrets-hash";
const CONFIG_VOLUME = "bmn-gateway-config";
const TOKEN_VOLUME = "bmn-peer-tokens";
const TLS_VOLUME = "bmn-tls";
const CA_FILE = "ca.crt";
/** The group that may read the peer tokens (mode 0440): the image's user's group. */
const TOKEN_FS_GROUP = IMAGE_USER_ID;

export const DEFAULT_GATEWAY_RESOURCES = {
  requests: { cpu: "100m", memory: "128Mi" },
  limits: { memory: "256Mi" },
};

/**
 * `bmn gateway --config /etc/bmn/config.json`, as arguments of the image's entrypoint (`node dist/cli/bmn.js`,
 * see Dockerfile), the way the Helm chart runs `bmn operator`.
 */
export const GATEWAY_ARGS = ["gateway", "--config", GATEWAY_CONFIG_FILE];

export interface GatewayChildren {
  configMap: ConfigMap;
  deployment: Deployment;
  service: Service;
  podDisruptionBudget: PodDisruptionBudget;
  /** Present when `spec.autoscaling` is set. */
  horizontalPodAutoscaler?: HorizontalPodAutoscaler;
  /** Present unless turned off (`spec.networkPolicy.enabled`, or the operator's option). */
  networkPolicy?: NetworkPolicy;
}

export function gatewayChildName(gateway: Gateway): string {
  return `${gateway.metadata.name}-bmn-gateway`;
}

/** The file a peer's token is projected to from its `tokenSecretRef`. */
export function peerTokenFile(peer: string): string {
  return `${PEER_TOKEN_DIR}/${peer}/token`;
}

/** A Secret key the gateway's pods mount, and what it is for (named in conditions). */
export interface GatewaySecretKey {
  name: string;
  key: string;
  /** "token", "tls" or "tls-client-ca" for the gateway itself; the peer's domain for a peer's. */
  use: string;
  /** Where it is projected, relative to the volume's mount path. */
  path: string;
  volume: "tokens" | "tls";
}

function peerTlsKeys(peer: GatewayPeer): GatewaySecretKey[] {
  const keys: GatewaySecretKey[] = [];
  const dir = `peers/${peer.name}`;
  const use = `peer ${peer.name} tls`;
  if (peer.tls?.caSecretRef !== undefined)
    keys.push({ ...peer.tls.caSecretRef, use, path: `${dir}/${CA_FILE}`, volume: "tls" });
  if (peer.tls?.clientCertSecretName !== undefined)
    for (const key of [TLS_CERT_KEY, TLS_KEY_KEY])
      keys.push({ name: peer.tls.clientCertSecretName, key, use, path: `${dir}/${key}`, volume: "tls" });
  return keys;
}

/** Every Secret key the gateway's pods mount: peer tokens, the listener's certificate and CA, peers' TLS. */
export function gatewaySecretKeys(gateway: Gateway): GatewaySecretKey[] {
  const spec = resolveGatewaySpec(gateway);
  const keys: GatewaySecretKey[] = spec.peers.map((peer) => ({
    ...peer.tokenSecretRef,
    use: `peer ${peer.name} token`,
    path: `${peer.name}/token`,
    volume: "tokens",
  }));
  if (spec.tls !== undefined) {
    for (const key of [TLS_CERT_KEY, TLS_KEY_KEY])
      keys.push({ name: spec.tls.secretName, key, use: "tls", path: `server/${key}`, volume: "tls" });
    if (spec.tls.clientCASecretRef !== undefined)
      keys.push({
        ...spec.tls.clientCASecretRef,
        use: "tls client CA",
        path: `client-ca/${CA_FILE}`,
        volume: "tls",
      });
  }
  return [...keys, ...spec.peers.flatMap(peerTlsKeys)];
}

/** True when the gateway serves https and wants peers' client certificates (nothing else can call it then). */
export function requiresClientCert(gateway: Gateway): boolean {
  return resolveGatewaySpec(gateway).tls?.requireClientCert === true;
}

export function resolveGatewaySpec(gateway: Gateway): GatewaySpec {
  return parseSpec(gatewaySpecSchema, gateway.spec);
}

/** The pods' selector as the scale subresource wants it in `status.selector`. */
export function gatewaySelector(gateway: Gateway): string {
  return selectorString(selectorLabels(APP, gateway));
}

/** Where the domain's sidecars reach this gateway's admin API (`/v1/topology`): its Service, in-cluster. */
export function gatewayServiceUrl(gateway: Gateway): string {
  const { port, tls } = resolveGatewaySpec(gateway);
  const scheme = tls === undefined ? "http" : "https";
  return `${scheme}://${gatewayChildName(gateway)}.${gateway.metadata.namespace}.svc:${String(port)}`;
}

/**
 * The config `bmn gateway` runs with: the domain's sidecar config (domain, store options, delivery, limits;
 * never the store URL, which comes from the Secret as env) plus a `gateway` section from the Gateway (listener,
 * peers with a `tokenFile` each, batching, compression, retry, breaker) and the domain's boundary policy.
 * Checked against `sidecarConfigSchema`, so what the operator renders is what the program accepts.
 */
export function gatewaySidecarConfig(gateway: Gateway, domain: MessageDomain): SidecarConfigInput {
  const spec = resolveGatewaySpec(gateway);
  ownDomainName(spec.domain, domain);
  const { policy } = resolveDomainSpec(domain);
  const config: SidecarConfigInput = {
    ...domainSidecarConfig(domain),
    gateway: {
      host: GATEWAY_LISTEN_HOST,
      port: spec.port,
      ...(spec.tls === undefined
        ? {}
        : {
            tls: {
              certFile: `${TLS_DIR}/server/${TLS_CERT_KEY}`,
              keyFile: `${TLS_DIR}/server/${TLS_KEY_KEY}`,
              ...(spec.tls.clientCASecretRef === undefined
                ? {}
                : { caFile: `${TLS_DIR}/client-ca/${CA_FILE}` }),
              requireClientCert: spec.tls.requireClientCert,
            },
          }),
      peers: spec.peers.map((peer) => ({
        domain: peer.name,
        endpoints: [...peer.endpoints],
        tokenFile: peerTokenFile(peer.name),
        ...(peer.tls === undefined ? {} : { tls: peerTlsFiles(peer) }),
        ...(peer.allowedOrigins === undefined ? {} : { allowedOrigins: [...peer.allowedOrigins] }),
        ...(peer.allowedRoutes === undefined ? {} : { allowedRoutes: [...peer.allowedRoutes] }),
      })),
      batching: { ...spec.batching },
      compression: { algorithm: spec.compression },
      retry: {
        maxForwardAttempts: spec.retry.maxAttempts,
        backoffBaseMs: spec.retry.backoff.baseMs,
        backoffMaxMs: spec.retry.backoff.maxMs,
      },
      breaker: { ...spec.breaker },
      policy: {
        ...(policy.allowedSourceDomains === undefined
          ? {}
          : { allowedSourceDomains: [...policy.allowedSourceDomains] }),
        ...(policy.allowedSourceAgents === undefined
          ? {}
          : { allowedSourceAgents: [...policy.allowedSourceAgents] }),
        ...(policy.allowedMessageTypes === undefined
          ? {}
          : { allowedMessageTypes: [...policy.allowedMessageTypes] }),
        maxMessageBytes: policy.maxMessageBytes,
        ...(policy.rateLimitPerPeer === undefined
          ? {}
          : {
              rateLimitPerPeer: {
                messagesPerSecond: policy.rateLimitPerPeer.messagesPerSecond,
                // Without a burst, one second's worth.
                burst: policy.rateLimitPerPeer.burst ?? policy.rateLimitPerPeer.messagesPerSecond,
              },
            }),
      },
    },
  };
  checkSidecarConfig(config);
  return config;
}

/** The files a peer's `tls` is projected to (the gateway config's `peers[].tls`). */
function peerTlsFiles(peer: GatewayPeer): { caFile?: string; certFile?: string; keyFile?: string } {
  const dir = `${TLS_DIR}/peers/${peer.name}`;
  return {
    ...(peer.tls?.caSecretRef === undefined ? {} : { caFile: `${dir}/${CA_FILE}` }),
    ...(peer.tls?.clientCertSecretName === undefined
      ? {}
      : { certFile: `${dir}/${TLS_CERT_KEY}`, keyFile: `${dir}/${TLS_KEY_KEY}` }),
  };
}

/**
 * One projected volume holding the given Secret keys, each at its path (readable by the image's group only);
 * undefined when there are none.
 */
function projectedSecretVolume(
  name: string,
  mountPath: string,
  keys: readonly GatewaySecretKey[],
): { volume: Volume; mount: VolumeMount } | undefined {
  if (keys.length === 0) return undefined;
  return {
    volume: {
      name,
      projected: {
        defaultMode: 0o440,
        sources: keys.map((key) => ({
          secret: { name: key.name, items: [{ key: key.key, path: key.path }] },
        })),
      },
    },
    mount: { name, mountPath, readOnly: true },
  };
}

/**
 * ConfigMap (the gateway's config file), Deployment, Service, PDB and optional HPA. Secrets stay Secrets: peer
 * tokens are projected files, the store URL an env `secretKeyRef`.
 */
export function buildGatewayChildren(
  gateway: Gateway,
  domain: MessageDomain,
  options: BuildOptions = {},
  /** A digest of the mounted Secrets' values (`gatewaySecretKeys`): pods roll when a token or certificate rotates. */
  secretsHash?: string,
): GatewayChildren {
  const spec = resolveGatewaySpec(gateway);
  const domainName = ownDomainName(spec.domain, domain);
  const name = gatewayChildName(gateway);
  const labels = commonLabels(APP, "gateway", gateway, { [LABEL_DOMAIN]: domainName });
  const selector = selectorLabels(APP, gateway);

  const configData = {
    [GATEWAY_CONFIG_KEY]: `${JSON.stringify(gatewaySidecarConfig(gateway, domain), null, 2)}\n`,
  };
  const configMap: ConfigMap = {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: childMeta(gateway, name, labels),
    data: configData,
  };

  const secretKeys = gatewaySecretKeys(gateway);
  const tokens = projectedSecretVolume(
    TOKEN_VOLUME,
    PEER_TOKEN_DIR,
    secretKeys.filter((key) => key.volume === "tokens"),
  );
  const tls = projectedSecretVolume(
    TLS_VOLUME,
    TLS_DIR,
    secretKeys.filter((key) => key.volume === "tls"),
  );
  const container: Container = withNodeHeap({
    name: "gateway",
    image: spec.image ?? resolveDomainSpec(domain).sidecarImage ?? options.defaultImage ?? DEFAULT_IMAGE,
    args: [...GATEWAY_ARGS],
    ports: [{ name: "gateway", containerPort: spec.port, protocol: "TCP" }],
    env: domainStoreSecretEnv(domain),
    resources: spec.resources ?? DEFAULT_GATEWAY_RESOURCES,
    // `/healthz` answers 200 once the gateway listens and its store answers. The kubelet has no client
    // certificate: under mTLS it can only check that the port accepts connections.
    readinessProbe: {
      ...(spec.tls?.requireClientCert === true
        ? { tcpSocket: { port: "gateway" } }
        : {
            httpGet: {
              path: "/healthz",
              port: "gateway",
              ...(spec.tls === undefined ? {} : { scheme: "HTTPS" }),
            },
          }),
      periodSeconds: 5,
      failureThreshold: 3,
    },
    // Liveness only asks that the process accepts connections: /healthz fails while the store is down, and
    // restarting gateways would not bring the store back.
    livenessProbe: {
      tcpSocket: { port: "gateway" },
      initialDelaySeconds: 10,
      periodSeconds: 10,
      failureThreshold: 6,
    },
    volumeMounts: [
      { name: CONFIG_VOLUME, mountPath: CONFIG_MOUNT_PATH, readOnly: true },
      ...(tokens === undefined ? [] : [tokens.mount]),
      ...(tls === undefined ? [] : [tls.mount]),
    ],
    securityContext: withOverride(RESTRICTED_CONTAINER_SECURITY_CONTEXT, spec.securityContext),
  });

  const deployment: Deployment = {
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: childMeta(gateway, name, labels),
    spec: {
      // With an HPA the replica count is the HPA's; leaving it out keeps apply from fighting it.
      ...(spec.autoscaling === undefined ? { replicas: spec.replicas } : {}),
      selector: { matchLabels: selector },
      template: {
        metadata: {
          labels,
          annotations: {
            // The config is read at start: a changed ConfigMap rolls the pods.
            [ANNOTATION_CONFIG_HASH]: digest(configData),
            ...(secretsHash === undefined ? {} : { [ANNOTATION_SECRETS_HASH]: secretsHash }),
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(spec.port),
            "prometheus.io/path": "/metrics",
            ...(spec.tls === undefined ? {} : { "prometheus.io/scheme": "https" }),
          },
        },
        spec: {
          securityContext: withOverride(
            {
              runAsNonRoot: true,
              runAsUser: IMAGE_USER_ID,
              runAsGroup: IMAGE_USER_ID,
              fsGroup: TOKEN_FS_GROUP,
              seccompProfile: { type: "RuntimeDefault" },
            },
            spec.podSecurityContext,
          ),
          // The gateway never calls the apiserver.
          automountServiceAccountToken: false,
          ...(spec.pod ?? {}),
          containers: [container],
          volumes: [
            { name: CONFIG_VOLUME, configMap: { name } },
            ...(tokens === undefined ? [] : [tokens.volume]),
            ...(tls === undefined ? [] : [tls.volume]),
          ],
        },
      },
    },
  };

  const service: Service = {
    apiVersion: "v1",
    kind: "Service",
    metadata: {
      ...childMeta(gateway, name, labels),
      ...(spec.service.annotations === undefined ? {} : { annotations: { ...spec.service.annotations } }),
    },
    spec: {
      type: spec.service.type,
      selector,
      ports: [{ name: "gateway", port: spec.port, targetPort: "gateway", protocol: "TCP" }],
    },
  };

  const podDisruptionBudget: PodDisruptionBudget = {
    apiVersion: "policy/v1",
    kind: "PodDisruptionBudget",
    metadata: childMeta(gateway, name, labels),
    spec: { selector: { matchLabels: selector }, maxUnavailable: 1 },
  };

  const children: GatewayChildren = { configMap, deployment, service, podDisruptionBudget };
  if (spec.networkPolicy.enabled && options.networkPolicies !== false)
    // Peers, the Service and Prometheus all use the one port; nothing else listens.
    children.networkPolicy = ingressOnlyPolicy(childMeta(gateway, name, labels), selector, [
      fromAnywhere(spec.port),
    ]);
  if (spec.autoscaling !== undefined) {
    children.horizontalPodAutoscaler = buildAutoscaler(
      gateway,
      name,
      labels,
      { apiVersion: "apps/v1", kind: "Deployment", name },
      spec.autoscaling,
      // Every gateway of a domain drains the same outboxes.
      {
        metricName: OUTBOX_METRICS.readyDepth,
        oldestAgeMetricName: OUTBOX_METRICS.oldestAgeSeconds,
        selector: { [LABEL_DOMAIN]: domainName },
      },
      options.queueDepthMetric === undefined
        ? []
        : [queueDepthMetricSpec(options.queueDepthMetric, domainName)],
    );
  }
  return children;
}
