import { z } from "zod";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./envelope.js";
import { domainNameSchema } from "./names.js";

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
    maxBatch: z.number().int().min(1).max(10_000),
  })
  .partial()
  .strict();

export const storeConfigSchema = z
  .object({
    type: z.enum(["memory", "redis", "tidb"], { error: "must be memory, redis or tidb" }).default("memory"),
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
      })
      .strict()
      .optional(),
    tidb: z
      .object({
        url: mysqlUrl.optional(),
        /** Several endpoints of one database (TiDB servers of one cluster); takes precedence over `url`. */
        urls: z.array(mysqlUrl).min(1, { error: "must list at least one mysql:// URL" }).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export const sidecarConfigSchema = z
  .object({
    host: z.string().min(1).default("127.0.0.1"),
    port: port.default(7420),
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
      .default({
        maxMessageBytes: DEFAULT_MAX_MESSAGE_BYTES,
        maxInFlight: 1_024,
        maxQueued: 4_096,
        maxWaitSeconds: 60,
      }),
    logLevel: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default("info"),
    otel: z
      .object({
        /** OTLP/HTTP traces endpoint, e.g. http://127.0.0.1:4318/v1/traces; unset means no export. */
        endpoint: z.url().optional(),
        serviceName: z.string().default("bmn-sidecar"),
      })
      .strict()
      .default({ serviceName: "bmn-sidecar" }),
  })
  .strict();

export type SidecarConfig = z.infer<typeof sidecarConfigSchema>;
export type SidecarConfigInput = z.input<typeof sidecarConfigSchema>;
