import type { SidecarConfigInput } from "../../core/config.js";
import { gatewaySpecSchema, type GatewaySpec } from "../../core/crds/gateway.js";
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

const APP = "bmn-gateway";
/** Key of the gateway's config (a sidecar config with a `gateway` section, JSON) in its ConfigMap. */
export const GATEWAY_CONFIG_KEY = "config.json";
/** Where the gateway's ConfigMap is mounted: the file `--config` names. */
export const GATEWAY_CONFIG_FILE = `${CONFIG_MOUNT_PATH}/${GATEWAY_CONFIG_KEY}`;
/** Where the peers' token Secrets are projected: `<dir>/<peer domain>/token`. */
export const PEER_TOKEN_DIR = "/etc/bmn-peer-tokens";
/** The gateway listens on every address of the pod: peers and the kubelet's probes reach it on the pod IP. */
export const GATEWAY_LISTEN_HOST = "0.0.0.0";
const CONFIG_VOLUME = "bmn-gateway-config";
const TOKEN_VOLUME = "bmn-peer-tokens";
/** The image's user (uid/gid 1000, `node`): the projected token files are readable by this group only. */
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

function resolveGatewaySpec(gateway: Gateway): GatewaySpec {
  return parseSpec(gatewaySpecSchema, gateway.spec);
}

/** The pods' selector as the scale subresource wants it in `status.selector`. */
export function gatewaySelector(gateway: Gateway): string {
  return selectorString(selectorLabels(APP, gateway));
}

/** Where the domain's sidecars reach this gateway's admin API (`/v1/topology`): its Service, in-cluster. */
export function gatewayServiceUrl(gateway: Gateway): string {
  const { port } = resolveGatewaySpec(gateway);
  return `http://${gatewayChildName(gateway)}.${gateway.metadata.namespace}.svc:${String(port)}`;
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
      peers: spec.peers.map((peer) => ({
        domain: peer.name,
        endpoints: [...peer.endpoints],
        tokenFile: peerTokenFile(peer.name),
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

/** One projected volume holding every peer's token, each from its own Secret key, at `peerTokenFile(peer)`. */
function peerTokenVolume(spec: GatewaySpec): { volume: Volume; mount: VolumeMount } | undefined {
  if (spec.peers.length === 0) return undefined;
  return {
    volume: {
      name: TOKEN_VOLUME,
      projected: {
        defaultMode: 0o440,
        sources: spec.peers.map((peer) => ({
          secret: {
            name: peer.tokenSecretRef.name,
            items: [{ key: peer.tokenSecretRef.key, path: `${peer.name}/token` }],
          },
        })),
      },
    },
    mount: { name: TOKEN_VOLUME, mountPath: PEER_TOKEN_DIR, readOnly: true },
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

  const tokens = peerTokenVolume(spec);
  const container: Container = {
    name: "gateway",
    image: spec.image ?? resolveDomainSpec(domain).sidecarImage ?? options.defaultImage ?? DEFAULT_IMAGE,
    args: [...GATEWAY_ARGS],
    ports: [{ name: "gateway", containerPort: spec.port, protocol: "TCP" }],
    env: domainStoreSecretEnv(domain),
    resources: spec.resources ?? DEFAULT_GATEWAY_RESOURCES,
    // `/healthz` answers 200 once the gateway listens and its store answers.
    readinessProbe: { httpGet: { path: "/healthz", port: "gateway" }, periodSeconds: 5, failureThreshold: 3 },
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
    ],
    securityContext: withOverride(RESTRICTED_CONTAINER_SECURITY_CONTEXT, spec.securityContext),
  };

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
            "prometheus.io/scrape": "true",
            "prometheus.io/port": String(spec.port),
            "prometheus.io/path": "/metrics",
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
      { metricName: OUTBOX_METRICS.readyDepth, selector: { [LABEL_DOMAIN]: domainName } },
      options.queueDepthMetric === undefined
        ? []
        : [queueDepthMetricSpec(options.queueDepthMetric, domainName)],
    );
  }
  return children;
}
