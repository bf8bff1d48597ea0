import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { ANNOTATION_SECRETS_HASH } from "../../operator/builders/gateway.js";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { waitFor } from "../conformance/helpers.js";
import { operatorTestKit, type KubeCondition, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * A Gateway's TLS and mTLS on a real kube-apiserver + kube-controller-manager: the CRD refuses mTLS without a
 * client CA (naming the field); the certificate, client CA and each peer's CA and client certificate reach the
 * pods as projected Secret files that the rendered `bmn gateway` config names; the kubelet probes over https,
 * or the port only under mTLS; a missing TLS Secret shows as `TLSSecretsResolved=False` until it exists; and a
 * rotated peer token or certificate rolls the pods (no manual rollout).
 */
const NAMESPACE = "bmn-gateway-tls";
const WAIT_MS = 20_000;
const CHILD = "secure-bmn-gateway";

interface Container {
  readinessProbe?: Record<string, unknown>;
  volumeMounts?: { name: string; mountPath: string }[];
}
interface Obj {
  metadata: ObjectMetadata & { annotations?: Record<string, string> };
  data?: Record<string, string>;
  spec?: {
    template?: {
      metadata: { annotations?: Record<string, string> };
      spec: { containers: Container[]; volumes: { name: string; projected?: { sources: unknown[] } }[] };
    };
  };
  status?: { conditions?: KubeCondition[] };
}

let controllers: RunningControllers | undefined;
const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply } = kit;

const gateway = (tls: object): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "Gateway",
  metadata: { name: "secure" },
  spec: {
    domain: "team-a",
    replicas: 1,
    tls,
    peers: [
      {
        name: "team-b",
        endpoints: ["https://gw.team-b.example:7430"],
        tokenSecretRef: { name: "peer-tokens", key: "team-b" },
        tls: { caSecretRef: { name: "team-b-ca", key: "ca.crt" }, clientCertSecretName: "gw-client" },
      },
    ],
  },
});
const MTLS = {
  secretName: "gw-tls",
  clientCASecretRef: { name: "peers-ca", key: "ca.crt" },
  requireClientCert: true,
};

const secret = (name: string, data: Record<string, string>, type = "Opaque"): object => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name },
  type,
  stringData: data,
});
const PEM = "-----BEGIN CERTIFICATE-----\nnot checked by the apiserver\n-----END CERTIFICATE-----\n";

beforeAll(async () => {
  controllers = await startControllers(await kit.start(), {
    namespace: NAMESPACE,
    resyncMs: 0,
    notReadyRequeueMs: 250,
    refreshIntervalMs: 250,
    queue: { baseDelayMs: 100, maxDelayMs: 1_000 },
    onError: kit.onError,
  });
  await mustApply({
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: { name: "team-a" },
    spec: { sidecarImage: "registry.example/bmn:1" },
  });
});

afterAll(async () => {
  await controllers?.stop();
  await kit.stop();
});

const condition = (type: string, reason: string): Promise<KubeCondition> =>
  kit.untilCondition("bgw", "secure", type, reason, WAIT_MS);

const secretsHash = async (): Promise<string | undefined> =>
  (await get("deployment", CHILD))?.spec?.template?.metadata.annotations?.[ANNOTATION_SECRETS_HASH];

describe("Gateway TLS and mTLS on a real control plane", () => {
  it("refuses requireClientCert without clientCASecretRef, naming the field", async () => {
    const refused = await kubectl(
      ["apply", "-n", NAMESPACE, "-f", "-"],
      JSON.stringify(gateway({ secretName: "gw-tls", requireClientCert: true })),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("spec.tls.clientCASecretRef");
    expect(refused.stderr).toContain("clientCASecretRef is required when requireClientCert is true");
  });

  it("reports missing TLS Secrets until they exist", async () => {
    await mustApply(secret("peer-tokens", { "team-b": "a-peer-token-of-enough-length" }));
    await mustApply(gateway(MTLS));
    const missing = await condition("TLSSecretsResolved", "TLSSecretNotFound");
    expect(missing.status).toBe("False");
    for (const key of [
      "gw-tls/tls.crt",
      "gw-tls/tls.key",
      "peers-ca/ca.crt",
      "team-b-ca/ca.crt",
      "gw-client/tls.key",
    ])
      expect(missing.message).toContain(key);
    await condition("Degraded", "TLSSecretNotFound");
    // The token is there: only TLS is missing.
    await condition("PeerSecretsResolved", "PeerSecretsFound");

    await mustApply(secret("gw-tls", { "tls.crt": PEM, "tls.key": PEM }, "kubernetes.io/tls"));
    await mustApply(secret("gw-client", { "tls.crt": PEM, "tls.key": PEM }, "kubernetes.io/tls"));
    await mustApply(secret("peers-ca", { "ca.crt": PEM }));
    await mustApply(secret("team-b-ca", { "ca.crt": PEM }));
    expect((await condition("TLSSecretsResolved", "TLSSecretsFound")).status).toBe("True");
  });

  it("projects every certificate into the pods where the gateway config names it; probes fit mTLS", async () => {
    const configMap = await waitFor(() => get("configmap", CHILD), WAIT_MS, "the ConfigMap");
    const config = parseYaml(configMap.data?.["config.json"] ?? "{}") as {
      gateway: { tls: object; peers: { tls: object }[] };
    };
    expect(config.gateway.tls).toEqual({
      certFile: "/etc/bmn-tls/server/tls.crt",
      keyFile: "/etc/bmn-tls/server/tls.key",
      caFile: "/etc/bmn-tls/client-ca/ca.crt",
      requireClientCert: true,
    });
    expect(config.gateway.peers[0]?.tls).toEqual({
      caFile: "/etc/bmn-tls/peers/team-b/ca.crt",
      certFile: "/etc/bmn-tls/peers/team-b/tls.crt",
      keyFile: "/etc/bmn-tls/peers/team-b/tls.key",
    });
    const pod = (await get("deployment", CHILD))?.spec?.template?.spec;
    const tlsVolume = pod?.volumes.find((volume) => volume.name === "bmn-tls");
    expect(tlsVolume?.projected?.sources).toEqual(
      expect.arrayContaining([
        { secret: { name: "gw-tls", items: [{ key: "tls.crt", path: "server/tls.crt" }] } },
        { secret: { name: "peers-ca", items: [{ key: "ca.crt", path: "client-ca/ca.crt" }] } },
        { secret: { name: "gw-client", items: [{ key: "tls.key", path: "peers/team-b/tls.key" }] } },
      ]),
    );
    const container = pod?.containers[0];
    expect(container?.volumeMounts).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "bmn-tls", mountPath: "/etc/bmn-tls" })]),
    );
    // The kubelet has no client certificate: under mTLS it checks the port only.
    expect(container?.readinessProbe).toMatchObject({ tcpSocket: { port: "gateway" } });

    // TLS without mTLS: https probes of /healthz.
    await mustApply(gateway({ secretName: "gw-tls" }));
    await waitFor(
      async () => {
        const probe = (await get("deployment", CHILD))?.spec?.template?.spec.containers[0]?.readinessProbe;
        return (
          JSON.stringify(probe?.httpGet) ===
          JSON.stringify({ path: "/healthz", port: "gateway", scheme: "HTTPS" })
        );
      },
      WAIT_MS,
      "an https readiness probe",
    );
  });

  it("rolls the pods when a peer token or a certificate rotates", async () => {
    const first = await waitFor(secretsHash, WAIT_MS, "the secrets-hash annotation");
    await mustApply(secret("peer-tokens", { "team-b": "the-rotated-peer-token-value" }));
    const second = await waitFor(
      async () => {
        const hash = await secretsHash();
        return hash !== undefined && hash !== first ? hash : undefined;
      },
      WAIT_MS,
      "a new secrets-hash after the token rotated",
    );
    await mustApply(secret("gw-tls", { "tls.crt": `${PEM}\n`, "tls.key": PEM }, "kubernetes.io/tls"));
    await waitFor(
      async () => {
        const hash = await secretsHash();
        return hash !== undefined && hash !== second;
      },
      WAIT_MS,
      "a new secrets-hash after the certificate rotated",
    );
  });
});
