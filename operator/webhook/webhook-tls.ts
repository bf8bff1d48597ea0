import { createPrivateKey, X509Certificate } from "node:crypto";
import { isIP } from "node:net";
import { KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { isNotFound } from "../kube-objects.js";
import { createCa, createServingCert } from "./self-signed-cert.js";

/**
 * The webhook's serving certificate, managed by the operator (no cert-manager needed): a self-signed CA and a
 * serving certificate for the webhook's Service, kept in one Secret that every replica shares, the CA going into
 * the MutatingWebhookConfiguration's `caBundle`. Renewed before it runs out; the CA is kept while it lasts, so a
 * renewal does not change the caBundle.
 */
export interface WebhookTls {
  /** The CA certificate (PEM): the caBundle. */
  ca: string;
  /** The CA's key (PEM), to sign the next serving certificate. */
  caKey: string;
  cert: string;
  key: string;
}

const DAY_MS = 86_400_000;
const CA_DAYS = 3_650;
const SERVING_DAYS = 365;
/** A certificate with less left than this is replaced. */
const RENEW_BEFORE_MS = 30 * DAY_MS;
const CA_COMMON_NAME = "bmn-injection-webhook-ca";
/** Secret keys; ca.crt, tls.crt and tls.key as in a cert-manager Secret. */
const KEYS = { ca: "ca.crt", caKey: "ca.key", cert: "tls.crt", key: "tls.key" } as const;

/** The names the apiserver may use for the Service, plus `extraHosts` (e.g. 127.0.0.1 for a `url` webhook). */
export function servingHosts(
  service: string,
  namespace: string,
  extraHosts: readonly string[] = [],
): string[] {
  const svc = `${service}.${namespace}.svc`;
  return [svc, `${svc}.cluster.local`, ...extraHosts];
}

const msLeft = (cert: X509Certificate, now: number): number => Date.parse(cert.validTo) - now;

function lasts(pem: string, forMs: number, now: number): boolean {
  try {
    return msLeft(new X509Certificate(pem), now) > forMs;
  } catch {
    return false;
  }
}

/** Whether stored TLS still serves `hosts`: a CA and a certificate it signed for them, neither close to running out. */
export function usableTls(
  tls: Partial<WebhookTls>,
  hosts: readonly string[],
  now = Date.now(),
): tls is WebhookTls {
  if (tls.ca === undefined || tls.caKey === undefined || tls.cert === undefined || tls.key === undefined)
    return false;
  try {
    const ca = new X509Certificate(tls.ca);
    const cert = new X509Certificate(tls.cert);
    return (
      msLeft(ca, now) > RENEW_BEFORE_MS &&
      msLeft(cert, now) > RENEW_BEFORE_MS &&
      cert.verify(ca.publicKey) &&
      cert.checkPrivateKey(createPrivateKey(tls.key)) &&
      hosts.every((host) => (isIP(host) === 0 ? cert.checkHost(host) : cert.checkIP(host)) !== undefined)
    );
  } catch {
    return false;
  }
}

/** New TLS for `hosts`, keeping the stored CA when it outlives the new serving certificate. */
export function issueTls(
  hosts: readonly string[],
  stored: Partial<WebhookTls>,
  now = new Date(),
): WebhookTls {
  const keepCa =
    stored.ca !== undefined &&
    stored.caKey !== undefined &&
    lasts(stored.ca, SERVING_DAYS * DAY_MS + RENEW_BEFORE_MS, now.getTime());
  const authority =
    keepCa && stored.ca !== undefined && stored.caKey !== undefined
      ? { cert: stored.ca, key: stored.caKey }
      : createCa(CA_COMMON_NAME, CA_DAYS, now);
  const serving = createServingCert(authority, hosts, SERVING_DAYS, now);
  return { ca: authority.cert, caKey: authority.key, cert: serving.cert, key: serving.key };
}

/** The Secret as this file writes and reads it (a plain object: the client's classes are for its typed APIs). */
interface TlsSecret {
  apiVersion: "v1";
  kind: "Secret";
  metadata: { name: string; namespace: string; labels?: Record<string, string>; resourceVersion?: string };
  type?: string;
  data?: Record<string, string>;
}

function tlsOf(secret: TlsSecret | undefined): Partial<WebhookTls> {
  const data = secret?.data ?? {};
  const tls: Partial<WebhookTls> = {};
  for (const [field, key] of Object.entries(KEYS) as [keyof WebhookTls, string][]) {
    const value = data[key];
    if (value !== undefined) tls[field] = Buffer.from(value, "base64").toString("utf8");
  }
  return tls;
}

export interface WebhookTlsTarget {
  namespace: string;
  secretName: string;
  hosts: readonly string[];
}

/**
 * The TLS in the Secret; created, or renewed when it is missing, broken or close to running out. Replicas race
 * safely: a create or replace that loses (409) reads the winner's.
 */
export async function ensureWebhookTls(
  kubeConfig: KubeConfig,
  target: WebhookTlsTarget,
): Promise<WebhookTls> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const metadata = { name: target.secretName, namespace: target.namespace };
  for (let attempt = 0; attempt < 3; attempt++) {
    const existing = await api
      .read<TlsSecret>({ apiVersion: "v1", kind: "Secret", metadata })
      .catch((error: unknown) => {
        if (isNotFound(error)) return undefined;
        throw error;
      });
    const stored = tlsOf(existing);
    if (usableTls(stored, target.hosts)) return stored;
    const fresh = issueTls(target.hosts, stored);
    const resourceVersion = existing?.metadata.resourceVersion;
    const secret: TlsSecret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        ...metadata,
        labels: { "app.kubernetes.io/managed-by": "bmn-operator" },
        ...(resourceVersion === undefined ? {} : { resourceVersion }),
      },
      type: "Opaque",
      data: Object.fromEntries(
        (Object.entries(KEYS) as [keyof WebhookTls, string][]).map(([field, key]) => [
          key,
          Buffer.from(fresh[field]).toString("base64"),
        ]),
      ),
    };
    try {
      if (existing === undefined) await api.create(secret);
      else await api.replace(secret);
      return fresh;
    } catch (error) {
      // Another replica wrote it first: read theirs.
      if ((error as { code?: number }).code !== 409) throw error;
    }
  }
  throw new Error(`Secret ${target.namespace}/${target.secretName} kept changing while being written`);
}

interface WebhookConfiguration {
  apiVersion: string;
  kind: string;
  metadata: { name: string; resourceVersion?: string };
  webhooks?: { name: string; clientConfig?: { caBundle?: string } }[];
}

/**
 * Puts the CA into every webhook of the MutatingWebhookConfiguration `name` (the chart creates it without one);
 * true when it changed anything. A lost race (409) is left to the next round.
 */
export async function ensureCaBundle(kubeConfig: KubeConfig, name: string, caPem: string): Promise<boolean> {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);
  const config = await api.read<WebhookConfiguration>({
    apiVersion: "admissionregistration.k8s.io/v1",
    kind: "MutatingWebhookConfiguration",
    metadata: { name },
  });
  const caBundle = Buffer.from(caPem).toString("base64");
  const webhooks = config.webhooks ?? [];
  if (webhooks.every((webhook) => webhook.clientConfig?.caBundle === caBundle)) return false;
  await api.replace<WebhookConfiguration>({
    ...config,
    webhooks: webhooks.map((webhook) => ({
      ...webhook,
      clientConfig: { ...webhook.clientConfig, caBundle },
    })),
  });
  return true;
}
