import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { waitFor } from "../conformance/helpers.js";
import { operatorTestKit, type KubeCondition, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * The Gateway's Service and pod settings, its peer Secrets and its scale subresource, on a real kube-apiserver
 * + kube-controller-manager: the Service type and annotations and the pod's scheduling and identity fields reach
 * the children as written; a missing peer token Secret shows on the Gateway (condition and Event) until it
 * exists; `kubectl scale` on a Gateway drives its Deployment; the printer columns show the counts of a Deployment.
 */
const NAMESPACE = "bmn-gateway-settings";
const WAIT_MS = 20_000;
const CHILD = "edge-bmn-gateway";

interface Obj {
  metadata: ObjectMetadata & { annotations?: Record<string, string> };
  spec?: {
    type?: string;
    replicas?: number;
    template?: { spec: Record<string, unknown> };
  };
  status?: { conditions?: KubeCondition[]; desiredReplicas?: number; selector?: string };
}

let controllers: RunningControllers | undefined;
const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, eventsFor } = kit;

const POD = {
  nodeSelector: { "topology.kubernetes.io/zone": "z1" },
  tolerations: [{ key: "dedicated", operator: "Equal", value: "bmn", effect: "NoSchedule" }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            topologyKey: "kubernetes.io/hostname",
            labelSelector: { matchLabels: { "app.kubernetes.io/instance": "edge" } },
          },
        },
      ],
    },
  },
  topologySpreadConstraints: [
    {
      maxSkew: 1,
      topologyKey: "topology.kubernetes.io/zone",
      whenUnsatisfiable: "ScheduleAnyway",
      labelSelector: { matchLabels: { "app.kubernetes.io/instance": "edge" } },
    },
  ],
  priorityClassName: "bmn-critical",
  serviceAccountName: "bmn-gateway",
  imagePullSecrets: [{ name: "registry-creds" }],
};

beforeAll(async () => {
  controllers = await startControllers(await kit.start(), {
    namespace: NAMESPACE,
    resyncMs: 0,
    notReadyRequeueMs: 250,
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
  kit.untilCondition("bgw", "edge", type, reason, WAIT_MS);

describe("Gateway settings on a real control plane", () => {
  it("passes the Service type, its annotations and the pod settings to the children", async () => {
    await mustApply({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "Gateway",
      metadata: { name: "edge" },
      spec: {
        domain: "team-a",
        replicas: 1,
        peers: [
          {
            name: "team-b",
            endpoints: ["https://gw.team-b.example:7430"],
            tokenSecretRef: { name: "peer-tokens", key: "team-b" },
          },
        ],
        service: {
          type: "LoadBalancer",
          annotations: { "service.beta.kubernetes.io/aws-load-balancer-type": "nlb" },
        },
        pod: POD,
      },
    });
    const service = await waitFor(() => get("service", CHILD), WAIT_MS, "the Service");
    expect(service.spec?.type).toBe("LoadBalancer");
    expect(service.metadata.annotations).toMatchObject({
      "service.beta.kubernetes.io/aws-load-balancer-type": "nlb",
    });
    const deployment = await waitFor(() => get("deployment", CHILD), WAIT_MS, "the Deployment");
    expect(deployment.spec?.template?.spec).toMatchObject({ ...POD, automountServiceAccountToken: false });
  });

  it("reports a missing peer token Secret on the Gateway until it exists", async () => {
    const missing = await condition("PeerSecretsResolved", "PeerSecretNotFound");
    expect(missing.status).toBe("False");
    expect(missing.message).toContain("peer-tokens/team-b");
    await condition("Degraded", "PeerSecretNotFound");
    await waitFor(
      async () =>
        (await eventsFor("edge")).some((e) => e.type === "Warning" && e.reason === "PeerSecretNotFound"),
      WAIT_MS,
      "a Warning PeerSecretNotFound Event",
    );
    // No watch on Secrets: the Gateway is checked again after notReadyRequeueMs.
    await mustApply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "peer-tokens" },
      stringData: { "team-b": "a-peer-token-of-enough-length" },
    });
    const found = await condition("PeerSecretsResolved", "PeerSecretsFound");
    expect(found.status).toBe("True");
    // Degraded no longer says so (the pods may still fail for their own reasons here: the ServiceAccount
    // named in spec.pod does not exist, so the ReplicaSet cannot create them).
    const degraded = await waitFor(
      async () => {
        const found = (await get("bgw", "edge"))?.status?.conditions?.find((c) => c.type === "Degraded");
        return found !== undefined && found.reason !== "PeerSecretNotFound" ? found : undefined;
      },
      WAIT_MS,
      "Degraded without PeerSecretNotFound",
    );
    expect(degraded.message).not.toContain("peer-tokens");
  });

  it("kubectl scale on a Gateway drives its Deployment; the columns show desired, up-to-date and available", async () => {
    const scaled = await kubectl(["scale", "-n", NAMESPACE, "bgw", "edge", "--replicas=3"]);
    expect(scaled, scaled.stderr).toMatchObject({ code: 0 });
    await waitFor(
      async () => (await get("deployment", CHILD))?.spec?.replicas === 3,
      WAIT_MS,
      "the Deployment at 3 replicas",
    );
    const gateway = await waitFor(
      async () => {
        const current = await get("bgw", "edge");
        return current?.status?.desiredReplicas === 3 ? current : undefined;
      },
      WAIT_MS,
      "status.desiredReplicas 3",
    );
    expect(gateway.status?.selector).toBe(
      "app.kubernetes.io/instance=edge,app.kubernetes.io/name=bmn-gateway",
    );
    const table = await kubectl(["get", "-n", NAMESPACE, "bgw", "edge", "-o", "wide"]);
    expect(table, table.stderr).toMatchObject({ code: 0 });
    const [header, row] = table.stdout.trim().split("\n");
    expect(header?.split(/\s+/).slice(0, 6)).toEqual([
      "NAME",
      "DOMAIN",
      "REPLICAS",
      "UP-TO-DATE",
      "AVAILABLE",
      "READY",
    ]);
    // No kubelet runs here: 3 desired, none available.
    expect(row?.split(/\s+/).slice(0, 5)).toEqual([
      "edge",
      "team-a",
      "3",
      expect.stringMatching(/^\d+$/),
      "0",
    ]);
  });
});
