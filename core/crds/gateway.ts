import { z } from "zod";
import { gatewayBatchingSchema } from "../config.js";
import { domainNameSchema } from "../names.js";
import {
  autoscalingSchema,
  baseStatusShape,
  objectNameSchema,
  replicasSchema,
  resourceRequirementsSchema,
  secretDataKeySchema,
  networkPolicySettingsSchema,
  securityContextSchema,
} from "./common.js";
import { backoffSchema } from "./delivery.js";

export const GATEWAY_KIND = "Gateway";
/** The resource name in API paths and RBAC rules. */
export const GATEWAY_PLURAL = "gateways";

/** A remote domain's gateway: where to reach it and the Secret key holding the token for that peer. */
export const gatewayPeerSchema = z
  .object({
    /** The remote domain. */
    name: domainNameSchema,
    endpoints: z
      .array(
        z
          .string()
          .max(2_048)
          // What the gateway accepts (core/config.ts): the inter-domain protocol is HTTP(S).
          .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: "must be an http:// or https:// URL" }),
      )
      .min(1, { error: "must list at least one endpoint" })
      .max(16),
    tokenSecretRef: z.object({ name: objectNameSchema, key: secretDataKeySchema }).strict(),
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
    maxAttempts: z.number().int().min(0).max(1_000).default(0),
    backoff: backoffSchema.prefault({ baseMs: 200, maxMs: 30_000 }),
  })
  .strict();

export const gatewayBreakerSchema = z
  .object({
    /** Consecutive failures that open the breaker for a peer. */
    failureThreshold: z.number().int().min(1).max(1_000).default(5),
    /** How long the breaker stays open before one trial call. */
    openMs: z.number().int().min(100).max(3_600_000).default(30_000),
  })
  .strict();

export const gatewaySpecSchema = z
  .object({
    /** The MessageDomain (in the same namespace) this gateway serves. */
    domain: domainNameSchema,
    peers: z
      .array(gatewayPeerSchema)
      .max(256)
      .default([])
      .refine((peers) => new Set(peers.map((peer) => peer.name)).size === peers.length, {
        error: "peer names must be unique",
      })
      .meta({ "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"] }),
    batching: gatewayBatchingSchema.prefault({}),
    compression: z.enum(["none", "gzip", "brotli"], { error: "must be none, gzip or brotli" }).default("gzip"),
    retry: gatewayRetrySchema.prefault({}),
    breaker: gatewayBreakerSchema.prefault({}),
    /** Port peers connect to. */
    port: z.number().int().min(1).max(65_535).default(7430),
    replicas: replicasSchema.default(2),
    autoscaling: autoscalingSchema.optional(),
    image: z.string().min(1).max(512).optional(),
    resources: resourceRequirementsSchema.optional(),
    /** Keys that replace the gateway pod's restricted defaults (see docs/operator.md). */
    podSecurityContext: securityContextSchema.optional(),
    /** Keys that replace the gateway container's restricted defaults. */
    securityContext: securityContextSchema.optional(),
    /** The default NetworkPolicy for the gateway's pods (see docs/operator.md); `enabled: false` leaves it out. */
    networkPolicy: networkPolicySettingsSchema.prefault({}),
  })
  .strict();
export type GatewaySpec = z.infer<typeof gatewaySpecSchema>;
export type GatewaySpecInput = z.input<typeof gatewaySpecSchema>;

export const gatewayStatusSchema = z
  .object({
    ...baseStatusShape,
    replicas: z.number().int().min(0).optional(),
    readyReplicas: z.number().int().min(0).optional(),
  })
  .strict();
export type GatewayStatus = z.infer<typeof gatewayStatusSchema>;
