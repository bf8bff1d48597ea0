import { z } from "zod";
import { gatewayBatchingSchema } from "../config.js";
import { domainNameSchema } from "../names.js";
import {
  autoscalingSchema,
  baseStatusShape,
  replicaStatusShape,
  replicasSchema,
  resourceRequirementsSchema,
  objectNameSchema,
  secretKeySelectorSchema,
  networkPolicySettingsSchema,
  securityContextSchema,
} from "./common.js";
import { backoffSchema } from "./delivery.js";

export const GATEWAY_KIND = "Gateway";
/**
 * The resource name in API paths and RBAC rules. Not `gateways`: with the Kubernetes Gateway API installed,
 * `kubectl get gateways` and `kubectl get gateway NAME` must reach its Gateways, so neither BMN's plural nor
 * its singular may be `gateways`/`gateway` (kubectl would pick one group of the two).
 */
export const GATEWAY_PLURAL = "bmngateways";
/** The singular resource name (kubectl get bmngateway NAME). */
export const GATEWAY_SINGULAR = "bmngateway";

/** A domain a link is trusted for, or `*` for any (one string pattern: CRD schemas take no unions). */
const peerDomainAllowance = z
  .array(
    z
      .string()
      .max(63)
      .regex(/^(\*|[a-z0-9]([-a-z0-9]*[a-z0-9])?)$/, { error: "must be a domain name or *" })
      .describe("A domain name, or * for any domain."),
  )
  .max(1_024);

/**
 * How this gateway calls a peer over https: the CA its certificate must chain to (default: the image's system
 * CAs) and, for mTLS, this gateway's client certificate.
 */
export const gatewayPeerTlsSchema = z
  .object({
    caSecretRef: secretKeySelectorSchema(
      "A Secret key holding the CA bundle (PEM) the peer's certificate must chain to; unset: the system's CAs.",
    ).optional(),
    clientCertSecretName: objectNameSchema
      .optional()
      .describe("mTLS: a kubernetes.io/tls Secret (tls.crt, tls.key) this gateway presents to the peer."),
  })
  .strict();

/** A remote domain's gateway: where to reach it and the Secret key holding the token for that peer. */
export const gatewayPeerSchema = z
  .object({
    /** The remote domain. */
    name: domainNameSchema.describe("The remote domain (unique in the list)."),
    endpoints: z
      .array(
        z
          .string()
          .max(2_048)
          // What the gateway accepts (core/config.ts): the inter-domain protocol is HTTP(S).
          .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: "must be an http:// or https:// URL" })
          .describe("An http:// or https:// URL of the peer's gateway."),
      )
      .min(1, { error: "must list at least one endpoint" })
      .max(16)
      .describe("Where the peer's gateways listen."),
    tokenSecretRef: secretKeySelectorSchema("The Secret key holding the token for this peer."),
    tls: gatewayPeerTlsSchema
      .optional()
      .describe("How this gateway checks the peer's https endpoints and, for mTLS, the certificate it presents."),
    allowedOrigins: peerDomainAllowance
      .optional()
      .describe(
        "Origin domains whose messages this peer may hand in (* for any). Unset: the peer's own domain only; a " +
          "hub relaying for domains behind it lists them.",
      ),
    allowedRoutes: peerDomainAllowance
      .optional()
      .describe("Domains this peer may advertise routes to (* for any). Unset: the peer's own domain only."),
  })
  .strict();
export type GatewayPeer = z.infer<typeof gatewayPeerSchema>;

/** The gateway's own batching schema (core/config.ts). */
export { gatewayBatchingSchema };

export const gatewayRetrySchema = z
  .object({
    /**
     * Forward attempts per message before it is dead-lettered `max-attempts` in the source domain; 0 means keep
     * trying (the message's TTL still applies). The gateway's `retry.maxForwardAttempts`.
     */
    maxAttempts: z
      .number()
      .int()
      .min(0)
      .max(1_000)
      .default(0)
      .describe("Forward attempts per message before it is dead-lettered max-attempts; 0 keeps trying."),
    backoff: backoffSchema
      .prefault({ baseMs: 200, maxMs: 30_000 })
      .describe("Delay between forward attempts (default 200 ms to 30 s)."),
  })
  .strict();

export const gatewayBreakerSchema = z
  .object({
    /** Consecutive failures that open the breaker for a peer. */
    failureThreshold: z
      .number()
      .int()
      .min(1)
      .max(1_000)
      .default(5)
      .describe("Consecutive failures that open the breaker for a peer."),
    /** How long the breaker stays open before one trial call. */
    openMs: z
      .number()
      .int()
      .min(100)
      .max(3_600_000)
      .default(30_000)
      .describe("How long the breaker stays open before one trial call, in milliseconds."),
  })
  .strict();

/** A core/v1 object kept opaque (the apiserver validates it when the operator applies the Deployment). */
const opaqueObject = (description: string) =>
  z.record(z.string(), z.unknown()).meta({ "x-kubernetes-preserve-unknown-fields": true }).describe(description);

/** Where the gateway's pods run and with what identity: copied into the pod spec as written. */
export const gatewayPodSchema = z
  .object({
    nodeSelector: z
      .record(z.string(), z.string().describe("A node label value."))
      .optional()
      .describe("Node labels the pods must run on (core/v1 PodSpec.nodeSelector)."),
    tolerations: z
      .array(opaqueObject("A core/v1 Toleration."))
      .max(64)
      .optional()
      .describe("Taints the pods tolerate (core/v1 PodSpec.tolerations)."),
    affinity: opaqueObject("Node and pod (anti-)affinity (core/v1 Affinity).").optional(),
    topologySpreadConstraints: z
      .array(opaqueObject("A core/v1 TopologySpreadConstraint."))
      .max(16)
      .optional()
      .describe("How the pods spread over zones and nodes (core/v1 PodSpec.topologySpreadConstraints)."),
    priorityClassName: z.string().min(1).max(253).optional().describe("The pods' PriorityClass."),
    serviceAccountName: objectNameSchema
      .optional()
      .describe("The pods' ServiceAccount (the gateway never calls the apiserver: no token is mounted)."),
    imagePullSecrets: z
      .array(
        z
          .object({ name: objectNameSchema.describe("A Secret of type dockerconfigjson.") })
          .strict()
          .describe("A pull Secret in the Gateway's namespace."),
      )
      .max(16)
      .optional()
      .describe("Secrets for pulling the gateway image."),
  })
  .strict();
export type GatewayPod = z.infer<typeof gatewayPodSchema>;

/** The Secret keys of a kubernetes.io/tls Secret (what cert-manager's Certificate writes). */
export const TLS_CERT_KEY = "tls.crt";
export const TLS_KEY_KEY = "tls.key";

/** The gateway's own listener: https with a certificate from a Secret, and mTLS when peers must present one. */
export const gatewayTlsSchema = z
  .object({
    secretName: objectNameSchema.describe(
      "A kubernetes.io/tls Secret (tls.crt, tls.key) with the gateway's certificate, e.g. one cert-manager writes.",
    ),
    clientCASecretRef: secretKeySelectorSchema(
      "mTLS: a Secret key holding the CA bundle (PEM) peers' client certificates must chain to.",
    ).optional(),
    requireClientCert: z
      .boolean()
      .default(false)
      .describe("mTLS: refuse peers without a client certificate chaining to clientCASecretRef."),
  })
  .strict()
  .refine((tls) => !tls.requireClientCert || tls.clientCASecretRef !== undefined, {
    error: "is required when requireClientCert is true",
    path: ["clientCASecretRef"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.requireClientCert) || !self.requireClientCert || has(self.clientCASecretRef)",
        message: "clientCASecretRef is required when requireClientCert is true",
        fieldPath: ".clientCASecretRef",
        reason: "FieldValueRequired",
      },
    ],
  });
export type GatewayTls = z.infer<typeof gatewayTlsSchema>;

/** The Service in front of the gateway's pods: how peers reach it. */
export const gatewayServiceSchema = z
  .object({
    type: z
      .enum(["ClusterIP", "NodePort", "LoadBalancer"], { error: "must be ClusterIP, NodePort or LoadBalancer" })
      .default("ClusterIP")
      .describe("ClusterIP (peers in the cluster), NodePort or LoadBalancer (peers in another cluster)."),
    annotations: z
      .record(z.string(), z.string().describe("An annotation value."))
      .optional()
      .describe("Annotations of the Service, e.g. a cloud load balancer's settings."),
  })
  .strict();

export const gatewaySpecSchema = z
  .object({
    /** The MessageDomain (in the same namespace) this gateway serves. */
    domain: domainNameSchema.describe("The MessageDomain, in the same namespace, this gateway serves."),
    peers: z
      .array(gatewayPeerSchema.describe("A remote domain's gateway."))
      .max(256)
      .default([])
      .refine((peers) => new Set(peers.map((peer) => peer.name)).size === peers.length, {
        error: "peer names must be unique",
      })
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("The remote domains this gateway forwards to."),
    batching: gatewayBatchingSchema.prefault({}).describe("How messages to one peer are batched."),
    compression: z
      .enum(["none", "gzip", "brotli"], { error: "must be none, gzip or brotli" })
      .default("gzip")
      .describe("Compression of batches to peers: none, gzip or brotli."),
    retry: gatewayRetrySchema.prefault({}).describe("Retries of forwards to peers."),
    breaker: gatewayBreakerSchema.prefault({}).describe("The per-peer circuit breaker."),
    /** Port peers connect to. */
    port: z.number().int().min(1).max(65_535).default(7430).describe("Port peers connect to."),
    replicas: replicasSchema.default(2).describe("Gateway pods to run (an HPA drives the count while autoscaling is set)."),
    autoscaling: autoscalingSchema
      .optional()
      .describe("Horizontal autoscaling on CPU (and queue depth when the operator is told the metric)."),
    image: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe("Gateway image; default the domain's sidecarImage, then the operator's default image."),
    resources: resourceRequirementsSchema.optional().describe("The gateway container's resources."),
    /** Keys that replace the gateway pod's restricted defaults (see docs/operator.md). */
    podSecurityContext: securityContextSchema
      .optional()
      .describe("Keys that replace the gateway pod's restricted securityContext defaults."),
    /** Keys that replace the gateway container's restricted defaults. */
    securityContext: securityContextSchema
      .optional()
      .describe("Keys that replace the gateway container's restricted securityContext defaults."),
    /** The default NetworkPolicy for the gateway's pods (see docs/operator.md); `enabled: false` leaves it out. */
    networkPolicy: networkPolicySettingsSchema
      .prefault({})
      .describe("The default NetworkPolicy for the gateway's pods."),
    service: gatewayServiceSchema.prefault({}).describe("The Service peers connect to."),
    tls: gatewayTlsSchema
      .optional()
      .describe("Serve peers over https (and mTLS with requireClientCert); unset: plain http."),
    pod: gatewayPodSchema
      .optional()
      .describe("Scheduling and identity of the gateway's pods: node selection, tolerations, spread, pull secrets."),
  })
  .strict();
export type GatewaySpec = z.infer<typeof gatewaySpecSchema>;
export type GatewaySpecInput = z.input<typeof gatewaySpecSchema>;

export const gatewayStatusSchema = z
  .object({
    ...baseStatusShape,
    ...replicaStatusShape,
    selector: z.string().optional().describe("The pods' label selector, for the scale subresource."),
    peers: z
      .array(
        z
          .object({
            name: z.string().max(63).describe("The peer domain."),
            state: z.enum(["up", "down", "unknown"]).describe("up, down or unknown (not probed yet)."),
            breaker: z.enum(["closed", "open", "half-open"]).describe("The link's circuit breaker."),
            backlog: z.number().int().min(0).describe("Messages waiting in the outbox to this peer."),
            lastError: z.string().max(1_024).optional().describe("Why the last probe or forward failed."),
          })
          .strict()
          .describe("One peer link."),
      )
      .max(256)
      .optional()
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] })
      .describe("The peer links as one gateway replica reports them (read every refresh interval, default 30 s)."),
    peersError: z
      .string()
      .max(1_024)
      .optional()
      .describe("Why the links could not be read (no replica answering yet, or mTLS)."),
  })
  .strict();
export type GatewayStatus = z.infer<typeof gatewayStatusSchema>;
