import { z } from "zod";
import { a2aConfigSchema } from "./a2a-config.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./envelope.js";
import { agentNameSchema, domainNameSchema, topicPatternSchema } from "./names.js";

const port = z
  .number({ error: "must be a whole number from 0 to 65535" })
  .int({ error: "must be a whole number from 0 to 65535" })
  .min(0, { error: "must be a whole number from 0 to 65535" })
  .max(65_535, { error: "must be a whole number from 0 to 65535" });
const positiveMs = z.number().int().min(1);
const mysqlUrl = z.string().regex(/^mysql:\/\//, { error: "must be a mysql:// URL" });

/** Delivery defaults of a domain; every field optional here, the store fills the rest. */
export const deliveryConfigSchema = z
  .object({
    maxAttempts: z.number().int().min(1).max(1_000),
    leaseMs: positiveMs,
    maxLeaseMs: positiveMs,
    backoffBaseMs: positiveMs,
    backoffMaxMs: positiveMs,
    dedupeWindowMs: z.number().int().min(0),
    traceRetentionMs: z.number().int().min(0),
    transactionTimeoutMs: positiveMs,
    maxOpenTransactions: z.number().int().min(1),
    maxTransactionOps: z.number().int().min(1),
    maxSubscriptionsPerAgent: z.number().int().min(1),
    maxWildcardSubscriptionsPerAgent: z.number().int().min(0),
    maxBatch: z.number().int().min(1).max(10_000),
    /** Time to live of a message sent without `expiresat`; 0 (the default): none. */
    defaultTtlMs: z.number().int().min(0),
    /** Dead letters older than this are purged; 0 (the default): kept until replayed or purged. */
    dlqRetentionMs: z.number().int().min(0),
  })
  .partial()
  .strict();

const sqlStoreConfigSchema = z
  .object({
    url: mysqlUrl.optional(),
    /** Several endpoints of one database (TiDB servers of one cluster); takes precedence over `url`. */
    urls: z.array(mysqlUrl).min(1, { error: "must list at least one mysql:// URL" }).optional(),
  })
  .strict();

export const storeConfigSchema = z
  .object({
    /** `tidb` is the old name of `sql` and still means it. */
    type: z
      .enum(["memory", "redis", "sql", "tidb"], {
        error: "must be memory, redis or sql (tidb is an alias of sql)",
      })
      .default("memory")
      .transform((type) => (type === "tidb" ? "sql" : type)),
    redis: z
      .object({
        url: z
          .string()
          .regex(/^rediss?:\/\//, { error: "must be a redis:// or rediss:// URL" })
          .optional(),
        /** Cluster seed nodes as host:port. */
        cluster: z.array(z.string().regex(/^[^:\s]+:\d+$/, { error: "must be host:port" })).optional(),
        keyPrefix: z.string().optional(),
        commandTimeoutMs: positiveMs.optional(),
        /** Start even though Redis may evict keys (maxmemory-policy other than noeviction); loses messages. */
        allowEviction: z.boolean().optional(),
      })
      .strict()
      .optional(),
    /** The SQL store: MariaDB 10.6+, MySQL-compatible TiDB. */
    sql: sqlStoreConfigSchema.optional(),
    /** The old name of `sql`, still read; `sql` wins where both are set. */
    tidb: sqlStoreConfigSchema.optional(),
  })
  .strict();

/**
 * Timeouts and a connection cap for an HTTP listener (runtime/http/server-limits.ts applies them); the sidecar,
 * gateway and operator servers share the schema.
 */
export const httpServerLimitsSchema = z
  .object({
    /** Time to receive a whole request, headers and body: a slow body is cut off after this. */
    requestTimeoutMs: positiveMs.default(30_000),
    /** Time to receive the request headers. */
    headersTimeoutMs: positiveMs.default(10_000),
    /** A socket with no traffic for this long is closed (must exceed the longest long-poll). */
    idleTimeoutMs: positiveMs.default(120_000),
    /** An idle keep-alive connection is closed after this. */
    keepAliveTimeoutMs: positiveMs.default(5_000),
    /** Connections held at once; more are refused at accept. */
    maxConnections: z.number().int().min(1).default(4_096),
  })
  .strict()
  .refine((limits) => limits.headersTimeoutMs <= limits.requestTimeoutMs, {
    error: "headersTimeoutMs must not exceed requestTimeoutMs",
    path: ["headersTimeoutMs"],
  });
export type HttpServerLimits = z.infer<typeof httpServerLimitsSchema>;

// ---- gateway (bmn gateway): cross-domain store-and-forward, see docs/gateways.md -------------------------

const endpointUrl = z
  .string()
  .regex(/^https?:\/\/[^\s/]+(\/\S*)?$/, { error: "must be an http:// or https:// URL" });
const filePath = z.string().min(1, { error: "must name a file" });

/** The gateway's own listener: TLS when certFile/keyFile are set, mTLS when requireClientCert is true. */
export const gatewayTlsConfigSchema = z
  .object({
    certFile: filePath,
    keyFile: filePath,
    /** CA bundle that client certificates must chain to (mTLS). */
    caFile: filePath.optional(),
    requireClientCert: z.boolean({ error: "must be true or false" }).default(false),
  })
  .strict()
  .refine((tls) => !tls.requireClientCert || tls.caFile !== undefined, {
    error: "requireClientCert needs caFile (the CA client certificates must chain to)",
    path: ["caFile"],
  });

/** How this gateway connects to a peer over https: the CA to trust and, for mTLS, its client certificate. */
export const gatewayPeerTlsConfigSchema = z
  .object({ caFile: filePath.optional(), certFile: filePath.optional(), keyFile: filePath.optional() })
  .strict()
  .refine((tls) => (tls.certFile === undefined) === (tls.keyFile === undefined), {
    error: "certFile and keyFile go together",
    path: ["keyFile"],
  });

/** What a peer token may be: 8-4096 printable ASCII characters without spaces (a `Bearer` credential). */
export const GATEWAY_TOKEN_PATTERN = /^[\x21-\x7e]{8,4096}$/;
export const GATEWAY_TOKEN_RULE = "must be 8-4096 printable ASCII characters without spaces";

/** Domains a peer link is trusted for: DNS labels, or `*` for any domain. */
const peerDomainAllowance = z
  .array(z.union([z.literal("*"), domainNameSchema], { error: "must be a domain name or *" }))
  .max(1_024, { error: "must list at most 1024 domains" });

export const gatewayPeerConfigSchema = z
  .object({
    domain: domainNameSchema,
    endpoints: z
      .array(endpointUrl)
      .min(1, { error: "must list at least one endpoint URL" })
      .max(16, { error: "must list at most 16 endpoints" }),
    /** Shared secret of the link: sent as a Bearer token, and expected from that peer. */
    token: z
      .string({ error: "must be a string" })
      .regex(GATEWAY_TOKEN_PATTERN, { error: GATEWAY_TOKEN_RULE })
      .optional(),
    /**
     * A file holding the token instead (a mounted Kubernetes Secret), read when the gateway starts; one trailing
     * newline is ignored. Exactly one of `token` and `tokenFile`.
     */
    tokenFile: filePath.optional(),
    tls: gatewayPeerTlsConfigSchema.optional(),
    /** Upper bound on bytes/s sent to this peer (after compression); unset means unlimited. */
    bandwidthBytesPerSecond: z.number().int().min(1_024, { error: "must be at least 1024" }).optional(),
    /**
     * Origin domains (first domain of a message's hop history) whose messages this peer may hand in; `*` is any.
     * Unset: the peer's own domain only. A transit peer needs the domains behind it listed.
     */
    allowedOrigins: peerDomainAllowance.optional(),
    /** Domains this peer may advertise routes to; `*` is any. Unset: the peer's own domain only. */
    allowedRoutes: peerDomainAllowance.optional(),
  })
  .strict()
  .superRefine((peer, context) => {
    if (peer.token !== undefined && peer.tokenFile !== undefined)
      context.addIssue({
        code: "custom",
        message: "must not be set together with token: give exactly one of token and tokenFile",
        path: ["tokenFile"],
      });
    else if (peer.token === undefined && peer.tokenFile === undefined)
      context.addIssue({
        code: "custom",
        message: "is required: give exactly one of token and tokenFile (a file holding the token)",
        path: ["token"],
      });
  });

const gatewayRateLimitSchema = z
  .object({
    messagesPerSecond: z.number().positive({ error: "must be a positive number" }),
    burst: z.number().int().min(1, { error: "must be a whole number of at least 1" }),
  })
  .strict();

export const gatewayPolicyConfigSchema = z
  .object({
    /** Source domains whose messages may enter; unset means every peer. */
    allowedSourceDomains: z.array(domainNameSchema).optional(),
    /** `from` addresses that may send in: `name` (any domain) or `name@domain`; unset means anyone. */
    allowedSourceAgents: z
      .array(z.string().regex(/^[a-z0-9-]+(@[a-z0-9-]+)?$/, { error: "must be name or name@domain" }))
      .optional(),
    /** Message types that may enter: exact, or a prefix ending in `*` (`orders.*`); unset means any type. */
    allowedMessageTypes: z.array(z.string().min(1, { error: "must not be empty" })).optional(),
    /** Larger messages are refused with `too-large`. */
    maxMessageBytes: z.number().int().min(1, { error: "must be a whole number of at least 1" }).optional(),
    rateLimitPerPeer: gatewayRateLimitSchema.optional(),
  })
  .strict();

/** How a gateway batches forwarded messages; the Gateway CRD's `spec.batching` is the same schema. */
export const gatewayBatchingSchema = z
  .object({
    maxMessages: z.number().int().min(1).max(10_000).default(256).describe("Most messages in one batch."),
    maxBytes: z
      .number()
      .int()
      .min(1_024)
      .max(64 * 1024 * 1024)
      .default(DEFAULT_MAX_MESSAGE_BYTES)
      .describe("Most bytes in one batch."),
    maxDelayMs: z
      .number()
      .int()
      .min(0)
      .max(10_000)
      .default(10)
      .describe("Longest a message waits for its batch to fill, in milliseconds."),
  })
  .strict();

export const gatewayConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: port.default(7430),
    /** This replica's id in traces and logs; defaults to the host name and pid. */
    id: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, { error: "must be 1-64 letters, digits, '.', '_' or '-'" })
      .optional(),
    tls: gatewayTlsConfigSchema.optional(),
    peers: z
      .array(gatewayPeerConfigSchema)
      .default([])
      .refine((peers) => new Set(peers.map((peer) => peer.domain)).size === peers.length, {
        error: "must not list a domain twice",
      }),
    batching: gatewayBatchingSchema.prefault({}),
    compression: z
      .object({
        algorithm: z
          .enum(["none", "gzip", "brotli"], { error: "must be none, gzip or brotli" })
          .default("brotli"),
        minBytes: z.number().int().min(0).default(1_024),
      })
      .strict()
      .prefault({}),
    retry: z
      .object({
        /** Forward attempts per message before it is dead-lettered `max-attempts`; 0 = unbounded (TTL applies). */
        maxForwardAttempts: z.number().int().min(0).default(0),
        backoffBaseMs: positiveMs.default(200),
        backoffMaxMs: positiveMs.default(30_000),
      })
      .strict()
      .prefault({}),
    breaker: z
      .object({
        failureThreshold: z.number().int().min(1).default(5),
        openMs: positiveMs.default(30_000),
      })
      .strict()
      .prefault({}),
    requestTimeoutMs: positiveMs.default(10_000),
    routeRefreshMs: positiveMs.default(2_000),
    maxHops: z.number().int().min(1).max(64).default(8),
    /** Routes taken from one peer's advertisement at most; the rest are ignored (and logged). */
    maxRoutesPerPeer: z.number().int().min(1).max(65_536).default(256),
    /** `/metrics` and `/v1/topology` answer without a peer token (Prometheus, the sidecar's topology); false: they need one. */
    publicAdminRoutes: z.boolean({ error: "must be true or false" }).default(true),
    /** Limits of the gateway's HTTP server (timeouts, connection cap), as for the sidecar. */
    server: httpServerLimitsSchema.prefault({}),
    policy: gatewayPolicyConfigSchema.prefault({}),
  })
  .strict();

/** The `gateway` section as parsed: each peer has `token` or `tokenFile`. */
export type ParsedGatewayConfig = z.infer<typeof gatewayConfigSchema>;
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** A peer as the gateway runs with it: `tokenFile` has been read into `token` (gateway/peer-token.ts). */
export type GatewayPeerConfig = Omit<z.infer<typeof gatewayPeerConfigSchema>, "token" | "tokenFile"> & {
  token: string;
};
/** The `gateway` section the gateway runs with: parsed, and every peer's token resolved. */
export type GatewayConfig = Omit<ParsedGatewayConfig, "peers"> & { peers: GatewayPeerConfig[] };
export type GatewayPolicyConfig = z.infer<typeof gatewayPolicyConfigSchema>;

/** What an agent API token may be: the same rule as a gateway peer token. */
const apiToken = z
  .string({ error: "must be a string" })
  .regex(GATEWAY_TOKEN_PATTERN, { error: GATEWAY_TOKEN_RULE });

export const sidecarConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: port.default(7420),
    /**
     * The agents this sidecar serves (`BMN_AGENT`, comma-separated). Set: it refuses to receive, settle, read
     * the DLQ, subscribe or register for any other agent (403 FORBIDDEN) and stamps `from` on sends.
     */
    agents: z.array(agentNameSchema).min(1).max(64, { error: "must list at most 64 agents" }).optional(),
    /** The HTTP listeners: timeouts, the probe listener and the agent API token. */
    server: z
      .object({
        /** A second listener serving only /healthz, /readyz and /metrics (for the kubelet and Prometheus). */
        probePort: port.optional(),
        probeHost: z.string().min(1).default("0.0.0.0"),
        /** The agent API token, checked on every route but /healthz and /readyz; or `apiTokenFile`. */
        apiToken: apiToken.optional(),
        /** A file holding the API token (a mounted Secret), read at start; one trailing newline is ignored. */
        apiTokenFile: filePath.optional(),
        limits: httpServerLimitsSchema.prefault({}),
        /** Bytes a WebSocket stream may have queued unsent; a client that does not read is closed past it. */
        maxStreamBufferedBytes: z
          .number()
          .int()
          .min(65_536)
          .default(8 * 1024 * 1024),
        /** Distinct `agent` label values a metric keeps; the rest are counted under `_other`. */
        maxAgentLabels: z.number().int().min(1).default(256),
      })
      .strict()
      .refine((server) => server.apiToken === undefined || server.apiTokenFile === undefined, {
        error: "apiToken and apiTokenFile must not both be set",
        path: ["apiTokenFile"],
      })
      .prefault({}),
    domain: domainNameSchema.default("local" as z.infer<typeof domainNameSchema>),
    store: storeConfigSchema.default({ type: "memory" }),
    delivery: deliveryConfigSchema.default({}),
    limits: z
      .object({
        maxMessageBytes: z.number().int().min(1_024).default(DEFAULT_MAX_MESSAGE_BYTES),
        maxInFlight: z.number().int().min(1).default(1_024),
        maxQueued: z.number().int().min(0).default(4_096),
        maxWaitSeconds: z.number().int().min(0).default(60),
      })
      .strict()
      .prefault({}),
    /** How this sidecar routes messages; `crossDomain` sends `name@other` into that domain's outbox. */
    routing: z
      .object({
        /**
         * Accept messages for agents in other domains into the durable outbox `bmn.out.<domain>` (a gateway
         * forwards them). Off: such messages answer 422 UNROUTABLE.
         */
        crossDomain: z.boolean({ error: "must be true or false" }).default(false),
        /**
         * Admin URLs of this domain's gateways (each serves `GET /v1/topology`), which the sidecar's own
         * `GET /v1/topology` asks for links and routes; unset: it shows only the outbox backlog in its store.
         */
        gateways: z
          .array(endpointUrl)
          .max(16, { error: "must list at most 16 gateway URLs" })
          .refine((urls) => new Set(urls).size === urls.length, { error: "must not list a URL twice" })
          .optional(),
      })
      .strict()
      .default({ crossDomain: false }),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    otel: z
      .object({
        /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset means no export. */
        endpoint: z.url().optional(),
        serviceName: z.string().default("bmn-sidecar"),
      })
      .strict()
      .default({ serviceName: "bmn-sidecar" }),
    /**
     * Subscriptions the sidecar makes at start (idempotent; it never removes any): how an AgentEndpoint's
     * `spec.subscriptions` reach the store. Env: `BMN_AGENT` with `BMN_SUBSCRIPTIONS` (comma-separated patterns).
     */
    subscriptions: z
      .array(z.object({ agent: agentNameSchema, pattern: topicPatternSchema }).strict())
      .max(256, { error: "must list at most 256 subscriptions" })
      .default([]),
    /**
     * Subscriptions the sidecar removes at start, before making `subscriptions` (idempotent): how a pattern
     * dropped from an AgentEndpoint's `spec.subscriptions` leaves the store. Env: `BMN_AGENT` with
     * `BMN_UNSUBSCRIBE` (comma-separated patterns), which the operator sets.
     */
    unsubscriptions: z
      .array(z.object({ agent: agentNameSchema, pattern: topicPatternSchema }).strict())
      .max(256, { error: "must list at most 256 subscriptions" })
      .default([]),
    /** Read by `bmn gateway` only; a sidecar ignores it, so one file can configure both. */
    gateway: gatewayConfigSchema.optional(),
    /** Agent cards, the A2A JSON-RPC binding and push notifications (docs/a2a.md). */
    a2a: a2aConfigSchema.prefault({}),
  })
  .strict();

export type SidecarConfig = z.infer<typeof sidecarConfigSchema>;
export type SidecarConfigInput = z.input<typeof sidecarConfigSchema>;
