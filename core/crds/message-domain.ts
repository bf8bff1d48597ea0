import { z } from "zod";
import { DEFAULT_MAX_MESSAGE_BYTES } from "../envelope.js";
import {
  agentAddressSchema,
  domainNameSchema,
  DNS_LABEL,
  TOPIC_PATTERN_REGEX_SOURCE,
  TOPIC_REGEX_SOURCE,
} from "../names.js";
import {
  baseStatusShape,
  objectNameSchema,
  resourceRequirementsSchema,
  secretKeyRefSchema,
  secretKeySelectorSchema,
} from "./common.js";
import { deliveryDefaultsSchema } from "./delivery.js";

export const MESSAGE_DOMAIN_KIND = "MessageDomain";
/** The resource name in API paths and RBAC rules. */
export const MESSAGE_DOMAIN_PLURAL = "messagedomains";

/** Where the domain keeps its messages. The connection URL lives in a Secret, never in the resource. */
export const domainStoreSchema = z
  .object({
    type: z
      .enum(["memory", "redis", "sql", "tidb"], { error: "must be memory, redis or sql (tidb is an alias of sql)" })
      .default("memory")
      .transform((type) => (type === "tidb" ? "sql" : type))
      .describe("memory (in each sidecar, for tests), redis or sql (MariaDB, MySQL or TiDB); tidb means sql."),
    /**
     * The Secret key holding the store URL: `redis://…`/`rediss://…` for Redis, `mysql://…` for SQL (several
     * endpoints of one database comma-separated). Required unless the type is memory.
     */
    connection: secretKeyRefSchema
      .optional()
      .describe("Where the store URL is: redis:// or rediss:// for Redis, mysql:// for SQL. Required unless memory."),
    redis: z
      .object({
        keyPrefix: z.string().max(128).optional().describe("Prefix of every Redis key the domain uses."),
        commandTimeoutMs: z
          .number()
          .int()
          .min(1)
          .max(600_000)
          .optional()
          .describe("How long one Redis command may take, in milliseconds."),
      })
      .strict()
      .optional()
      .describe("Redis settings."),
  })
  .strict()
  .refine((value) => value.type === "memory" || value.connection !== undefined, {
    error: "is required when the store type is redis or sql",
    path: ["connection"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: "!has(self.type) || self.type == 'memory' || has(self.connection)",
        message: "connection is required when the store type is redis or sql",
        fieldPath: ".connection",
        reason: "FieldValueRequired",
      },
    ],
  });
export type DomainStore = z.infer<typeof domainStoreSchema>;

/** Messages sent into the domain from one peer (a source domain) per second, with a burst allowance. */
export const peerRateLimitSchema = z
  .object({
    messagesPerSecond: z.number().int().min(1).max(1_000_000).describe("Sustained messages per second."),
    burst: z
      .number()
      .int()
      .min(1)
      .max(1_000_000)
      .optional()
      .describe("Messages allowed at once; default one second's worth."),
  })
  .strict();

const DNS_LABEL_SOURCE = DNS_LABEL.source.slice(1, -1);

/**
 * Who may send what into the domain. An absent list allows everything; a present list allows only what it
 * names. What the policy refuses is dead-lettered at the source with reason `forbidden`.
 */
export const boundaryPolicySchema = z
  .object({
    allowedSourceDomains: z
      .array(domainNameSchema.describe("A domain name."))
      .max(1_024)
      .optional()
      .describe("Domains that may send in; unset: any."),
    /** Agent addresses, `name@domain`. */
    allowedSourceAgents: z
      .array(
        agentAddressSchema
          .meta({
            maxLength: 127,
            pattern: `^${DNS_LABEL_SOURCE}(@${DNS_LABEL_SOURCE})?$`,
          })
          .describe("An agent address, name@domain."),
      )
      .max(4_096)
      .optional()
      .describe("Agents (name@domain) that may send in; unset: any."),
    /** CloudEvents `type` values. */
    allowedMessageTypes: z
      .array(z.string().min(1).max(256).describe("A CloudEvents type."))
      .max(1_024)
      .optional()
      .describe("CloudEvents types that may come in; unset: any."),
    maxMessageBytes: z
      .number()
      .int()
      .min(1_024)
      .max(64 * 1024 * 1024)
      .default(DEFAULT_MAX_MESSAGE_BYTES)
      .describe("Largest message, in bytes, for the sidecars and the domain's gateways."),
    rateLimitPerPeer: peerRateLimitSchema
      .optional()
      .describe("Messages per second each peer domain may send in."),
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
      .default(7 * 86_400)
      .describe("How long dead-lettered messages are kept before they are purged."),
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
    crossDomain: z
      .boolean()
      .default(false)
      .describe("Sidecars accept name@other-domain into the outbox a Gateway forwards; off: 422 UNROUTABLE."),
  })
  .strict();

/** An image the operator runs for the domain (console, bridge); default the domain's sidecarImage. */
const domainImageSchema = z
  .string()
  .min(1)
  .max(512)
  .optional()
  .describe("Image; default the domain's sidecarImage, then the operator's default image.");

/**
 * `bmn console` for the domain, run by the operator: one pod (the console and a sidecar of the domain on its
 * loopback) behind a ClusterIP Service. The console listens beyond loopback, so it always has a token: the
 * one in `tokenSecretRef`, or one the operator generates into the Secret `<domain>-bmn-console-token`.
 */
export const domainConsoleSchema = z
  .object({
    enabled: z
      .boolean()
      .default(false)
      .describe("Run bmn console for this domain behind a ClusterIP Service (needs a redis or sql store)."),
    tokenSecretRef: secretKeySelectorSchema(
      "The Secret key holding the console's token; unset: the operator generates <domain>-bmn-console-token.",
    ).optional(),
    traceUrl: z
      .string()
      .max(2_048)
      .regex(/^https?:\/\/[^\s"<>]*\{traceId\}[^\s"<>]*$/, {
        error: "must be an http(s) URL with {traceId} in it, e.g. http://jaeger:16686/trace/{traceId}",
      })
      .optional()
      .describe("Links trace ids to a trace viewer; {traceId} is replaced, e.g. http://jaeger:16686/trace/{traceId}."),
    image: domainImageSchema,
    resources: resourceRequirementsSchema.optional().describe("The console container's resources."),
  })
  .strict();
export type DomainConsole = z.infer<typeof domainConsoleSchema>;

/**
 * `bmn bridge legacy` for the domain, run by the operator as one pod (the bridge and a sidecar of the domain on
 * its loopback): presence, direct messages and broadcasts between the legacy Beast Mode network on Redis and
 * BMN (docs/bridges.md). Exactly one replica: two would share the legacy mailbox groups as one consumer.
 */
export const legacyBridgeSchema = z
  .object({
    redisUrlSecretRef: secretKeySelectorSchema(
      "The Secret key holding the legacy network's Redis URL (redis:// or rediss://); never inline.",
    ),
    topics: z
      .array(
        z
          .string()
          .min(1)
          .max(255)
          .regex(new RegExp(TOPIC_PATTERN_REGEX_SOURCE), {
            error: "must be dot-separated segments of letters, digits, '_' or '-', or the wildcards '*' and '#'",
          })
          .describe("A BMN topic pattern, e.g. beast.#."),
      )
      .min(1)
      .max(64)
      .default(["beast.#"])
      .describe("BMN topics broadcast on the legacy channel (bmn bridge legacy --topic)."),
    topicPrefix: z
      .string()
      .max(128)
      .regex(new RegExp(TOPIC_REGEX_SOURCE), {
        error: "must be dot-separated segments of letters, digits, '_' or '-'",
      })
      .optional()
      .describe("Legacy broadcasts become BMN topic <topicPrefix>.<type>; default legacy."),
    image: domainImageSchema,
    resources: resourceRequirementsSchema.optional().describe("The bridge container's resources."),
  })
  .strict();
export type LegacyBridge = z.infer<typeof legacyBridgeSchema>;

/** CEL: a console or bridge needs a shared store; with memory, its own sidecar would see an empty store. */
const SHARED_STORE = "(has(self.store) && has(self.store.type) && self.store.type != 'memory')";

export const messageDomainSpecSchema = z
  .object({
    store: domainStoreSchema.prefault({}).describe("Where the domain keeps its messages."),
    delivery: deliveryDefaultsSchema.prefault({}).describe("The domain's delivery defaults."),
    dlq: dlqSchema.prefault({}).describe("The dead-letter queue."),
    policy: boundaryPolicySchema
      .prefault({})
      .describe("Who may send what into the domain; what it refuses is dead-lettered forbidden at the source."),
    routing: domainRoutingSchema.prefault({}).describe("How the domain's sidecars route messages."),
    /** Sidecar image for this domain's agents and gateways, unless they name their own. */
    sidecarImage: z
      .string()
      .min(1)
      .max(512)
      .optional()
      .describe("Image of the domain's sidecars and gateways, unless they name their own."),
    console: domainConsoleSchema
      .prefault({})
      .describe("bmn console for the domain, behind a ClusterIP Service, with a token (docs/console.md)."),
    legacyBridge: legacyBridgeSchema
      .optional()
      .describe("Run bmn bridge legacy for the domain (one replica; needs a redis or sql store; docs/bridges.md)."),
  })
  .strict()
  .refine((spec) => !spec.console.enabled || spec.store.type !== "memory", {
    error: "needs a redis or sql store: on memory the console's own sidecar would see an empty store",
    path: ["console", "enabled"],
  })
  .refine((spec) => spec.legacyBridge === undefined || spec.store.type !== "memory", {
    error: "needs a redis or sql store: on memory the bridge's own sidecar would share it with no agent",
    path: ["legacyBridge"],
  })
  .meta({
    "x-kubernetes-validations": [
      {
        rule: `!has(self.console) || !has(self.console.enabled) || !self.console.enabled || ${SHARED_STORE}`,
        message: "console.enabled needs a redis or sql store: on memory the console would see an empty store",
        fieldPath: ".console.enabled",
        reason: "FieldValueForbidden",
      },
      {
        rule: `!has(self.legacyBridge) || ${SHARED_STORE}`,
        message: "legacyBridge needs a redis or sql store: on memory the bridge would share it with no agent",
        fieldPath: ".legacyBridge",
        reason: "FieldValueForbidden",
      },
    ],
  });
export type MessageDomainSpec = z.infer<typeof messageDomainSpecSchema>;
export type MessageDomainSpecInput = z.input<typeof messageDomainSpecSchema>;

export const messageDomainStatusSchema = z
  .object({
    ...baseStatusShape,
    /** The ConfigMap holding the domain's resolved sidecar config. */
    configMapName: objectNameSchema
      .optional()
      .describe("The ConfigMap holding the domain's resolved sidecar config."),
    store: z
      .object({
        type: z.enum(["memory", "redis", "sql"]).describe("The store type (sql for tidb, its old name)."),
        endpoint: z
          .string()
          .max(2_048)
          .optional()
          .describe("Where the store is (host:port, several comma-separated), without credentials."),
        reachable: z.boolean().optional().describe("Whether the store answered the last probe."),
        lastProbeTime: z.iso
          .datetime({ offset: true })
          .optional()
          .describe("When the operator last probed the store (every storeProbeInterval, default 30 s)."),
      })
      .strict()
      .optional()
      .describe("The domain's store as the operator last saw it."),
    console: z
      .object({
        serviceName: objectNameSchema.describe("The console's ClusterIP Service (port 7430)."),
        tokenSecret: secretKeySelectorSchema("Where the console's token is (sign in at /login with it)."),
        readyReplicas: z.number().int().min(0).describe("Console pods ready (0 or 1)."),
      })
      .strict()
      .optional()
      .describe("The domain's console, while spec.console.enabled is true."),
    legacyBridge: z
      .object({
        readyReplicas: z.number().int().min(0).describe("Bridge pods ready (0 or 1)."),
      })
      .strict()
      .optional()
      .describe("The domain's legacy bridge, while spec.legacyBridge is set."),
  })
  .strict();
export type MessageDomainStatus = z.infer<typeof messageDomainStatusSchema>;
