import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { AgentEndpointReconciler } from "../../operator/reconcilers/agent-endpoint.js";
import { waitFor } from "../conformance/helpers.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * The AgentEndpoint controller against a real kube-apiserver + kube-controller-manager (built by
 * test/tools/k8s/build.sh): children created with owner references, status written, spec changes followed,
 * a deleted Deployment brought back, and a repeated reconcile that changes nothing.
 */
const NAMESPACE = "bmn-operator-test";
const WAIT_MS = 20_000;

let controller: RunningControllers | undefined;

interface Obj {
  metadata: ObjectMetadata;
  spec: Record<string, unknown> & {
    replicas?: number;
    template?: {
      spec: {
        containers: { name: string; image: string; env?: { name: string; value?: string }[] }[];
        initContainers?: { name: string; image: string; restartPolicy?: string }[];
      };
    };
  };
  status?: {
    observedGeneration?: number;
    replicas?: number;
    readyReplicas?: number;
    selector?: string;
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
  };
}

const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, errors } = kit;

const domain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name: "team-a" },
  spec: { sidecarImage: "registry.example/bmn:test" },
};

const endpoint = (image: string, replicas: number): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "AgentEndpoint",
  metadata: { name: "reviewer" },
  spec: {
    domain: "team-a",
    agent: "reviewer",
    replicas,
    template: { spec: { containers: [{ name: "agent", image }] } },
  },
});

beforeAll(async () => {
  controller = await startControllers(await kit.start(), {
    namespace: NAMESPACE,
    resyncMs: 0,
    queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
    onError: kit.onError,
  });
});

afterAll(async () => {
  await controller?.stop();
  await kit.stop();
});

describe("AgentEndpoint controller on a real control plane", () => {
  it("creates the Deployment with an owner reference and the sidecar, and writes status", async () => {
    await mustApply(domain);
    await mustApply(endpoint("registry.example/agent:1", 1));
    const ae = await waitFor(() => get("agentendpoint", "reviewer"), WAIT_MS, "the AgentEndpoint");

    const deployment = await waitFor(() => get("deployment", "reviewer"), WAIT_MS, "the Deployment");
    expect(deployment.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "AgentEndpoint",
        name: "reviewer",
        uid: ae.metadata.uid,
        controller: true,
      }),
    ]);
    const containers = deployment.spec.template?.spec.containers ?? [];
    expect(containers.map((c) => c.name)).toEqual(["agent"]);
    // The sidecar is a native sidecar: an init container that keeps running.
    const [sidecar] = deployment.spec.template?.spec.initContainers ?? [];
    expect(sidecar).toMatchObject({
      name: "bmn-sidecar",
      image: "registry.example/bmn:test",
      restartPolicy: "Always",
    });
    expect(containers[0]?.env).toContainEqual({ name: "BMN_URL", value: "http://127.0.0.1:7420" });

    const withStatus = await waitFor(
      async () => {
        const current = await get("agentendpoint", "reviewer");
        const status = current?.status;
        return status?.observedGeneration === current?.metadata.generation && status?.replicas === 1
          ? current
          : undefined;
      },
      WAIT_MS,
      "the AgentEndpoint status to report the Deployment",
    );
    const status = withStatus.status;
    expect(status?.selector).toBe("app.kubernetes.io/instance=reviewer,app.kubernetes.io/name=bmn-agent");
    expect(status?.conditions?.map((c) => c.type).sort()).toEqual([
      "Autoscaled",
      "Degraded",
      "Progressing",
      "Ready",
    ]);
    // No scheduler or kubelet runs here, so the pods never become ready.
    expect(status?.conditions).toContainEqual(
      expect.objectContaining({
        type: "Ready",
        status: "False",
        observedGeneration: withStatus.metadata.generation,
      }),
    );
    expect(status?.conditions).toContainEqual(expect.objectContaining({ type: "Degraded", status: "False" }));
    // `kubectl scale` reads the status through the scale subresource.
    const scale = await kubectl([
      "get",
      "--raw",
      `/apis/beastmode.network/v1alpha1/namespaces/${NAMESPACE}/agentendpoints/reviewer/scale`,
    ]);
    expect(JSON.parse(scale.stdout)).toMatchObject({ status: { replicas: 1 } });
  });

  it("follows spec changes: replicas and the app image", async () => {
    await mustApply(endpoint("registry.example/agent:2", 3));
    const updated = await waitFor(
      async () => {
        const deployment = await get("deployment", "reviewer");
        const image = deployment?.spec.template?.spec.containers[0]?.image;
        return deployment?.spec.replicas === 3 && image === "registry.example/agent:2"
          ? deployment
          : undefined;
      },
      WAIT_MS,
      "the Deployment to follow the new spec",
    );
    expect(updated.spec.template?.spec.containers.map((c) => c.name)).toEqual(["agent"]);
    expect(updated.spec.template?.spec.initContainers?.map((c) => c.name)).toEqual(["bmn-sidecar"]);
    await waitFor(
      async () => {
        const ae = await get("agentendpoint", "reviewer");
        // Replicas may exceed 3 during the rollout: the new pods never become ready here (no kubelet).
        return ae?.status?.observedGeneration === ae?.metadata.generation && (ae?.status?.replicas ?? 0) >= 3;
      },
      WAIT_MS,
      "the status to observe the new generation",
    );
  });

  it("brings back a Deployment deleted by hand", async () => {
    const before = await get("deployment", "reviewer");
    expect(before).toBeDefined();
    const deleted = await kubectl(["delete", "-n", NAMESPACE, "deployment", "reviewer", "--wait=false"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    const recreated = await waitFor(
      async () => {
        const deployment = await get("deployment", "reviewer");
        return deployment !== undefined && deployment.metadata.uid !== before?.metadata.uid
          ? deployment
          : undefined;
      },
      WAIT_MS,
      "the Deployment to be recreated",
    );
    expect(recreated.spec.replicas).toBe(3);
  });

  it("changes nothing when reconciled twice", async () => {
    const kubeConfig = kit.kubeConfig();
    // Wait until the deployment controller has settled the Deployment's own status.
    await kit.untilDeploymentSettled("reviewer", "agentendpoint", "reviewer", 3, WAIT_MS);
    const reconciler = new AgentEndpointReconciler(kubeConfig);
    const deploymentBefore = await get("deployment", "reviewer");
    await reconciler.reconcile(NAMESPACE, "reviewer");
    const endpointBefore = await get("agentendpoint", "reviewer");
    const second = await reconciler.reconcile(NAMESPACE, "reviewer");
    expect(second).toEqual({ found: true, statusWritten: false });
    expect((await get("deployment", "reviewer"))?.metadata.resourceVersion).toBe(
      deploymentBefore?.metadata.resourceVersion,
    );
    expect((await get("agentendpoint", "reviewer"))?.metadata.resourceVersion).toBe(
      endpointBefore?.metadata.resourceVersion,
    );
  });

  it("reports a missing domain without creating children, and reconciles a deleted endpoint to nothing", async () => {
    await mustApply({
      ...endpoint("registry.example/agent:1", 1),
      metadata: { name: "orphan" },
      spec: {
        domain: "nowhere",
        agent: "orphan",
        template: { spec: { containers: [{ name: "agent", image: "x" }] } },
      },
    });
    const orphan = await waitFor(
      async () => {
        const ae = await get("agentendpoint", "orphan");
        return ae?.status?.conditions?.some((c) => c.reason === "DomainNotFound") === true ? ae : undefined;
      },
      WAIT_MS,
      "the DomainNotFound condition",
    );
    expect(orphan.status?.conditions).toContainEqual(
      expect.objectContaining({ type: "Ready", status: "False" }),
    );
    expect(await get("deployment", "orphan")).toBeUndefined();
    const kubeConfig = kit.kubeConfig();
    expect(await new AgentEndpointReconciler(kubeConfig).reconcile(NAMESPACE, "absent")).toEqual({
      found: false,
      statusWritten: false,
    });
    // A watch may start while the apiserver's storage is still initializing (429); the controller retries it.
    expect(errors.filter((e) => !/HTTP-Code: 429|conflict/i.test(e))).toEqual([]);
  });
});
