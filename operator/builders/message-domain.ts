import { stringify } from "yaml";
import { sidecarConfigSchema, type SidecarConfigInput } from "../../core/config.js";
import { messageDomainSpecSchema, type MessageDomainSpec } from "../../core/crds/message-domain.js";
import { domainNameSchema } from "../../core/names.js";
import type { ConfigMap, EnvVar, MessageDomain, Volume, VolumeMount } from "../k8s-types.js";
import {
  ANNOTATION_CONFIG_HASH,
  BuildError,
  buildErrorOf,
  childMeta,
  commonLabels,
  CONFIG_MOUNT_PATH,
  CONFIG_VOLUME_NAME,
  digest,
  LABEL_DOMAIN,
  parseSpec,
} from "./common.js";

/** Key of the sidecar config (the `BMN_CONFIG` file) in the domain ConfigMap. */
export const SIDECAR_CONFIG_KEY = "bmn.yaml";
/** Key of the domain's full resolved spec (policy, DLQ retention, TTL) for gateways and future readers. */
export const DOMAIN_SPEC_KEY = "domain.yaml";

/** `routing.gateways` takes at most this many URLs (core/config.ts). */
const MAX_TOPOLOGY_GATEWAYS = 16;

export function domainConfigMapName(domain: string): string {
  return `bmn-domain-${domain}`;
}

/** The domain's name: the MessageDomain's metadata.name, which must be a DNS label (the CRD checks it too). */
export function domainNameOf(domain: MessageDomain): string {
  const parsed = domainNameSchema.safeParse(domain.metadata.name);
  if (!parsed.success) throw buildErrorOf(parsed.error, "metadata.name");
  return parsed.data;
}

/** The domain a Gateway or AgentEndpoint is built for, after checking its `spec.domain` names it. */
export function ownDomainName(specDomain: string, domain: MessageDomain): string {
  const name = domainNameOf(domain);
  if (specDomain !== name) {
    throw new BuildError(`names domain ${specDomain} but was given MessageDomain ${name}`, "spec.domain");
  }
  return name;
}

/** Parses the spec with defaults applied, naming the field on failure. */
export function resolveDomainSpec(domain: MessageDomain): MessageDomainSpec {
  return parseSpec(messageDomainSpecSchema, domain.spec);
}

/**
 * The sidecar config (`core/config.ts`'s schema) a domain implies. Secret-held values (the store URL) are
 * left out: containers get them as env references (`domainStoreEnv`), which override the file. `gatewayUrls`
 * (the domain's gateways) become `routing.gateways`, so a sidecar's `GET /v1/topology` shows their links.
 */
export function domainSidecarConfig(
  domain: MessageDomain,
  gatewayUrls: readonly string[] = [],
): SidecarConfigInput {
  const spec = resolveDomainSpec(domain);
  const { delivery, store } = spec;
  const config: SidecarConfigInput = {
    domain: domainNameOf(domain),
    store: {
      type: store.type,
      ...(store.type === "redis" && store.redis !== undefined ? { redis: { ...store.redis } } : {}),
    },
    delivery: {
      maxAttempts: delivery.maxAttempts,
      leaseMs: delivery.leaseSeconds * 1_000,
      backoffBaseMs: delivery.backoff.baseMs,
      backoffMaxMs: delivery.backoff.maxMs,
      dedupeWindowMs: delivery.dedupeWindowSeconds * 1_000,
      ...(delivery.ttlSeconds === undefined ? {} : { defaultTtlMs: delivery.ttlSeconds * 1_000 }),
      dlqRetentionMs: spec.dlq.retentionSeconds * 1_000,
    },
    limits: { maxMessageBytes: spec.policy.maxMessageBytes },
    routing: {
      crossDomain: spec.routing.crossDomain,
      // Sorted so that the ConfigMap, and the pods rolled from its hash, change only when the set does.
      ...(gatewayUrls.length === 0
        ? {}
        : { gateways: [...new Set(gatewayUrls)].sort().slice(0, MAX_TOPOLOGY_GATEWAYS) }),
    },
  };
  checkSidecarConfig(config);
  return config;
}

/**
 * Fails here, in the operator, rather than in every pod at start: a config the builders render must be one
 * `sidecarConfigSchema` (what `bmn start` and `bmn gateway` load) accepts.
 */
export function checkSidecarConfig(config: SidecarConfigInput): void {
  const checked = sidecarConfigSchema.safeParse(config);
  if (!checked.success) throw buildErrorOf(checked.error, "sidecar config");
}

/** The ConfigMap holding a domain's resolved configuration; `gatewayUrls` as for `domainSidecarConfig`. */
export function buildDomainConfigMap(domain: MessageDomain, gatewayUrls: readonly string[] = []): ConfigMap {
  const name = domainNameOf(domain);
  const spec = resolveDomainSpec(domain);
  const data = {
    [SIDECAR_CONFIG_KEY]: stringify(domainSidecarConfig(domain, gatewayUrls)),
    [DOMAIN_SPEC_KEY]: stringify(spec),
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: {
      ...childMeta(
        domain,
        domainConfigMapName(name),
        commonLabels("bmn-domain", "domain-config", domain, { [LABEL_DOMAIN]: name }),
      ),
      annotations: { [ANNOTATION_CONFIG_HASH]: digest(data) },
    },
    data,
  };
}

/**
 * Environment for a container using the domain's store: `BMN_CONFIG` pointing at the mounted ConfigMap, and
 * the store URL as a Secret reference (never its value).
 */
export function domainStoreEnv(domain: MessageDomain): EnvVar[] {
  return [
    { name: "BMN_CONFIG", value: `${CONFIG_MOUNT_PATH}/${SIDECAR_CONFIG_KEY}` },
    ...domainStoreSecretEnv(domain),
  ];
}

/**
 * The store URL as a Secret reference (`BMN_REDIS_URL` or `BMN_SQL_URL`, which override the config file), or
 * nothing for a memory store.
 */
export function domainStoreSecretEnv(domain: MessageDomain): EnvVar[] {
  const { store } = resolveDomainSpec(domain);
  if (store.type === "memory" || store.connection === undefined) return [];
  return [
    {
      name: store.type === "redis" ? "BMN_REDIS_URL" : "BMN_SQL_URL",
      valueFrom: { secretKeyRef: { ...store.connection.secretRef } },
    },
  ];
}

/** The volume and mount that put the domain ConfigMap at `CONFIG_MOUNT_PATH`. */
export function domainConfigVolume(domain: MessageDomain): { volume: Volume; mount: VolumeMount } {
  return {
    volume: { name: CONFIG_VOLUME_NAME, configMap: { name: domainConfigMapName(domainNameOf(domain)) } },
    mount: { name: CONFIG_VOLUME_NAME, mountPath: CONFIG_MOUNT_PATH, readOnly: true },
  };
}

/** The hash of the domain's config, put on pod templates so pods roll when the domain changes. */
export function domainConfigHash(domain: MessageDomain): string {
  return buildDomainConfigMap(domain).metadata.annotations?.[ANNOTATION_CONFIG_HASH] ?? "";
}
