import { resolve } from "node:path";
import type { KubectlResult } from "../../test/harness/kube-control-plane.js";
import { runHelm } from "../../test/harness/kube-helm.js";
import { missingNodeParts, startKubeNode } from "../../test/harness/kube-node.js";
import { until } from "../../test/harness/poll-until.js";
import { buildImages, type ImageName } from "../../test/tools/image/build-images.js";
import { IMAGE_REFERENCES } from "../../test/tools/image/image-specs.js";
import { kindUnavailable, startKindCluster, type ClusterBackend } from "../kind/kind-cluster.js";

/**
 * The cluster the real-pod end-to-end tests run on: one node of test/harness/kube-node.ts with BMN's images
 * (built by `npm run image`, cached) imported, and the Helm chart installed with the operator's image. With
 * `BMN_E2E_CLUSTER=kind` a kind cluster instead (e2e/kind/, for users with Docker). Only this file knows how the
 * cluster starts; the tests use `kubectl`, `helm` and `tagImage`.
 */

const REPO = resolve(import.meta.dirname, "..", "..");
export const OPERATOR_NAMESPACE = "bmn-system";

export interface PodsCluster {
  /** Gives an image already on the node a second reference (e.g. a "new version" to roll out). */
  tagImage(source: string, target: string): Promise<void>;
  kubectl(args: readonly string[], input?: string): Promise<KubectlResult>;
  /** `kubectl apply -f -`; throws with kubectl's message when it fails. */
  apply(yaml: string): Promise<void>;
  helm(args: readonly string[]): Promise<KubectlResult>;
  /** The JSON of `kubectl get ... -o json`, or undefined when it fails. */
  getJson<T>(args: readonly string[]): Promise<T | undefined>;
  stop(): Promise<void>;
}

const onKind = process.env.BMN_E2E_CLUSTER === "kind";

/** Undefined when the cluster can run here, else what is missing. */
export function podsClusterUnavailable(): string | undefined {
  return onKind ? kindUnavailable() : missingNodeParts();
}

async function startNodeBackend(tar: (name: ImageName) => string): Promise<ClusterBackend> {
  const node = await startKubeNode({
    pauseImage: { tar: tar("pause"), reference: IMAGE_REFERENCES.pause },
    images: [tar("bmn"), tar("testAgent"), tar("redis")],
  });
  return {
    kubectl: (args, input) => node.kubectl(args, input === undefined ? {} : { input }),
    helm: (args) => runHelm(node.controlPlane, args, REPO),
    tagImage: (source, target) => node.tagImage(source, target),
    stop: () => node.stop(),
  };
}

export interface PodsClusterOptions {
  operatorReplicas?: number;
  /** Namespaces whose Secrets the operator may read (the chart's rbac.secretNamespaces). */
  secretNamespaces?: readonly string[];
  /** Applied before `helm install` (e.g. those namespaces, which the chart's Roles need to exist). */
  preinstall?: string;
}

export async function startPodsCluster(options: PodsClusterOptions = {}): Promise<PodsCluster> {
  const images = await buildImages();
  const tar = (name: ImageName): string => {
    const image = images.find((built) => built.name === name);
    if (image === undefined) throw new Error(`image ${name} was not built`);
    return image.tar;
  };
  const backend = onKind
    ? await startKindCluster([tar("bmn"), tar("testAgent"), tar("redis")])
    : await startNodeBackend(tar);
  const { kubectl, helm } = backend;
  const cluster: PodsCluster = {
    tagImage: (source, target) => backend.tagImage(source, target),
    kubectl,
    helm,
    async apply(yaml) {
      const result = await kubectl(["apply", "-f", "-"], yaml);
      if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
    },
    async getJson<T>(args: readonly string[]): Promise<T | undefined> {
      const result = await kubectl(["get", ...args, "-o", "json"]);
      return result.code === 0 ? (JSON.parse(result.stdout) as T) : undefined;
    },
    stop: () => backend.stop(),
  };
  try {
    if (options.preinstall !== undefined) await cluster.apply(options.preinstall);
    const [repository, tag] = IMAGE_REFERENCES.bmn.split(":");
    const installed = await helm([
      "install",
      "bmn",
      "charts/beast-mode-network",
      "--namespace",
      OPERATOR_NAMESPACE,
      "--create-namespace",
      "--set",
      `image.repository=${repository ?? ""}`,
      "--set",
      `image.tag=${tag ?? ""}`,
      "--set",
      "image.pullPolicy=Never",
      "--set",
      `replicaCount=${options.operatorReplicas ?? 2}`,
      "--set",
      `rbac.secretNamespaces={${(options.secretNamespaces ?? []).join(",")}}`,
      "--wait",
      "--timeout=180s",
    ]);
    if (installed.code !== 0) {
      const pods = await kubectl(["get", "pods", "-A", "-o", "wide"]);
      const describe = await kubectl(["describe", "pods", "-n", OPERATOR_NAMESPACE]);
      throw new Error(`helm install failed: ${installed.stderr}\n${pods.stdout}\n${describe.stdout}`);
    }
    return cluster;
  } catch (error) {
    await backend.stop();
    throw error;
  }
}

/** The pods of a label selector, with what the tests look at. */
export interface PodSummary {
  name: string;
  ip: string | undefined;
  ready: boolean;
  phase: string | undefined;
  deleting: boolean;
  restarts: number;
  /** controller.kubernetes.io/pod-deletion-cost, which the operator sets from the leases the pod holds. */
  deletionCost: number | undefined;
}

export async function podsOf(
  cluster: PodsCluster,
  namespace: string,
  selector: string,
): Promise<PodSummary[]> {
  const list = await cluster.getJson<{
    items: {
      metadata: { name: string; deletionTimestamp?: string; annotations?: Record<string, string> };
      status?: {
        podIP?: string;
        phase?: string;
        conditions?: { type: string; status: string }[];
        containerStatuses?: { restartCount: number }[];
      };
    }[];
  }>(["pods", "-n", namespace, "-l", selector]);
  return (list?.items ?? []).map((pod) => ({
    name: pod.metadata.name,
    ip: pod.status?.podIP,
    ready: pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false,
    phase: pod.status?.phase,
    deleting: pod.metadata.deletionTimestamp !== undefined,
    restarts: (pod.status?.containerStatuses ?? []).reduce((sum, c) => sum + c.restartCount, 0),
    deletionCost: ((cost) => (cost === undefined ? undefined : Number(cost)))(
      pod.metadata.annotations?.["controller.kubernetes.io/pod-deletion-cost"],
    ),
  }));
}

/** Waits until `count` pods of the selector are Ready (and none is being deleted). */
export async function untilPodsReady(
  cluster: PodsCluster,
  namespace: string,
  selector: string,
  count: number,
  timeoutMs = 120_000,
): Promise<PodSummary[]> {
  return until(
    async () => {
      const pods = (await podsOf(cluster, namespace, selector)).filter((pod) => !pod.deleting);
      return pods.length === count && pods.every((pod) => pod.ready) ? pods : undefined;
    },
    timeoutMs,
    `${count} Ready pods of ${selector} in ${namespace}`,
    async () => {
      const described = await cluster.kubectl(["describe", "pods", "-n", namespace, "-l", selector]);
      return described.stdout.slice(-4_000);
    },
    250,
  );
}

/** The last JSON counts line of the test agent (e2e/pods/test-agent.ts) in the pods of `agent`. */
export async function agentCounts(
  cluster: PodsCluster,
  namespace: string,
  agent: string,
): Promise<Record<string, number> | undefined> {
  const result = await cluster.kubectl([
    "logs",
    "-n",
    namespace,
    "-l",
    `beastmode.network/agent=${agent}`,
    "-c",
    "agent",
    "--tail=1",
  ]);
  const line = result.stdout.trim().split("\n").pop();
  if (result.code !== 0 || line === undefined || line === "") return undefined;
  try {
    return JSON.parse(line) as Record<string, number>;
  } catch {
    return undefined;
  }
}
