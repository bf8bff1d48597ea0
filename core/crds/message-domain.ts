import { z } from "zod";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../envelope.js";
import { agentAddressSchema, domainNameSchema, DNS_LABEL } from "../names.js";
import { baseStatusShape, objectNameSchema, secretKeyRefSchema } from "./common.js";
import { deliveryDefaultsSchema } from "./delivery.js";

export const MESSAGE_DOMAIN_KIND = "MessageDomain";
/** The resource name in API paths and RBAC rules. */
export const MESSAGE_DOMAIN_PLURAL = "messagedomains";

/** Where the domain keeps its messages. The connection URL lives in a Secret, never in the resource. */
export const domainStoreSchema = z
  .object({
    type: z.enum(["memory", "redis", "tidb"], { error: "must be memory, redis or tidb" }).default("memory"),
    /**
     * The Secret key holding the store URL: `redis://…`/`rediss://…` for Redis, `mysql://…` for TiDB (several
     * TiDB endpoints comma-separated). Required unless the type is memory.
     */
    connection: secretKeyRefSchema.optional(),
    redis: z
      .object({
        keyPrefix: z.string().max(128).optional(),
        commandTimeoutMs: z.number().int().min(1).max(600_000).optional(),
      })
      .strict()
      .optional(),
  })
  .strict()
  .refine((value) => value.type === "memory" || value.connection !== undefined, {
    error: "is required when the store type is redis or tidb",
    path: ["connection"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.type) || self.type == 'memory' || has(self.connection)",
        message: "connection is required when the store type is redis or tidb",
        fieldPath: ".connection",
        reason: "FieldValueRequired",
      },
    ],
  });
export type DomainStore = z.infer<typeof domainStoreSchema>;

/** Messages sent into the domain from one peer (a source domain) per second, with a burst allowance. */
export const peerRateLimitSchema = z
  .object({
    messagesPerSecond: z.number().int().min(1).max(1_000_000),
    burst: z.number().int().min(1).max(1_000_000).optional(),
  })
  .strict();

const DNS_LABEL_SOURCE = DNS_LABEL.source.slice(1, -1);

/**
 * Who may send what into the domain. An absent list allows everything; a present list allows only what it
 * names. What the policy refuses is dead-lettered at the source with reason `forbidden`.
 */
export const boundaryPolicySchema = z
  .object({
    allowedSourceDomains: z.array(domainNameSchema).max(1_024).optional(),
    /** Agent addresses, `name@domain`. */
    allowedSourceAgents: z
      .array(
        agentAddressSchema.meta({
          maxLength: 127,
          pattern: `^${DNS_LABEL_SOURCE}(@${DNS_LABEL_SOURCE})?$`,
        }),
      )
      .max(4_096)
      .optional(),
    /** CloudEvents `type` values. */
    allowedMessageTypes: z.array(z.string().min(1).max(256)).max(1_024).optional(),
    maxMessageBytes: z.number().int().min(1_024).max(64 * 1024 * 1024).default(DEFAULT_MAX_MESSAGE_BYTES),
    rateLimitPerPeer: peerRateLimitSchema.optional(),
  })
  .strict();
export type BoundaryPolicy = z.infer<typeof boundaryPolicySchema>;

export const dlqSchema = z
  .object({
    /** How long dead-lettered messages are kept before they are purged. */
    retentionSeconds: z
      .number()
      .int()
      .min(60)
      .max(365 * 86_400)
      .default(7 * 86_400),
  })
  .strict();

/** How the domain's sidecars route messages. */
export const domainRoutingSchema = z
  .object({
    /**
     * Sidecars accept messages for `name@other-domain` into the outbox `bmn.out.<other>`, which the domain's
     * Gateway forwards (the sidecar config's `routing.crossDomain`). Without a Gateway serving the domain such
     * messages wait in the outbox until their TTL; off, they are refused 422 UNROUTABLE at send.
     */
    crossDomain: z.boolean().default(false),
  })
  .strict();

export const messageDomainSpecSchema = z
  .object({
    store: domainStoreSchema.prefault({}),
    delivery: deliveryDefaultsSchema.prefault({}),
    dlq: dlqSchema.prefault({}),
    policy: boundaryPolicySchema.prefault({}),
    routing: domainRoutingSchema.prefault({}),
    /** Sidecar image for this domain's agents and gateways, unless they name their own. */
    sidecarImage: z.string().min(1).max(512).optional(),
  })
  .strict();
export type MessageDomainSpec = z.infer<typeof messageDomainSpecSchema>;
export type MessageDomainSpecInput = z.input<typeof messageDomainSpecSchema>;

export const messageDomainStatusSchema = z
  .object({
    ...baseStatusShape,
    /** The ConfigMap holding the domain's resolved sidecar config. */
    configMapName: objectNameSchema.optional(),
  })
  .strict();
export type MessageDomainStatus = z.infer<typeof messageDomainStatusSchema>;
