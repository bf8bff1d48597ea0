import { KubeConfig } from "@kubernetes/client-node";
import { expect } from "vitest";
import { waitFor } from "../conformance/helpers.js";
import type { ControlPlane, KubectlResult } from "./kube-control-plane.js";
import { startControlPlaneWithCrds } from "./kube-with-crds.js";

/** The metadata the operator tests read from an object. */
export interface ObjectMetadata {
  uid: string;
  generation?: number;
  resourceVersion: string;
  ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
}

/** What a Deployment and its owner report once the Deployment settled. */
interface Settling {
  metadata: { generation?: number };
  status?: { observedGeneration?: number; replicas?: number };
}

/** A status condition as the tests read it. */
export interface KubeCondition {
  type: string;
  status: string;
  reason: string;
  message: string;
}

/** A pod template as the tests read it from a Deployment. */
export interface PodTemplateLike {
  metadata?: { labels?: Record<string, string> };
  spec: unknown;
}

/** An Event as `kubectl get events -o json` lists it. */
export interface KubeEvent {
  reason: string;
  type: string;
  message: string;
}

/**
 * What the operator's controller tests share: a real control plane with the CRDs, one namespace in it, a
 * kubeconfig for the controllers, the errors they report, and kubectl helpers scoped to that namespace.
 * `Obj` is the shape the test reads objects as.
 */
export interface OperatorTestKit<Obj> {
  readonly namespace: string;
  /** What the controllers reported through `onError`, as "what: error". */
  readonly errors: string[];
  /** The controllers' `onError`: records into `errors`. */
  readonly onError: (what: string, error: unknown) => void;
  /** Starts the control plane, creates the namespace and returns the kubeconfig (for beforeAll). */
  readonly start: () => Promise<KubeConfig>;
  /** Stops the control plane (for afterAll); does nothing when it did not start. */
  readonly stop: () => Promise<void>;
  /** The kubeconfig `start()` loaded; throws before it. */
  readonly kubeConfig: () => KubeConfig;
  /** kubectl against the control plane; throws when it did not start. */
  readonly kubectl: (args: readonly string[], input?: string) => Promise<KubectlResult>;
  /** `kubectl get -o json` in the namespace, or undefined when the object does not exist. */
  readonly get: (kind: string, name: string) => Promise<Obj | undefined>;
  /** `kubectl apply` in the namespace, expecting it to succeed. */
  readonly mustApply: (manifest: object) => Promise<void>;
  /** The Events about one object in the namespace. */
  readonly eventsFor: (name: string) => Promise<KubeEvent[]>;
  /**
   * Creates a Deployment's pod template as a Pod with a server-side dry run, which runs admission (PodSecurity):
   * what the kubelet would be given, without a kubelet.
   */
  readonly admitPod: (name: string, template: PodTemplateLike) => Promise<KubectlResult>;
  /** Labels the namespace so that PodSecurity admission enforces "restricted" (latest) in it. */
  readonly enforceRestricted: () => Promise<void>;
  /** Waits until `kind/name` has a condition of `type` with `reason`, and returns it. */
  readonly untilCondition: (
    kind: string,
    name: string,
    type: string,
    reason: string,
    timeoutMs: number,
  ) => Promise<KubeCondition>;
  /**
   * Waits until the deployment controller has settled the Deployment's own status (observed its generation, at
   * `replicas`) and its owner (`ownerKind`/`ownerName`) reports `replicas` too.
   */
  readonly untilDeploymentSettled: (
    deployment: string,
    ownerKind: string,
    ownerName: string,
    replicas: number,
    timeoutMs: number,
  ) => Promise<void>;
}

export function operatorTestKit<Obj>(namespace: string): OperatorTestKit<Obj> {
  let plane: ControlPlane | undefined;
  let loaded: KubeConfig | undefined;
  const errors: string[] = [];

  const kubectl = (args: readonly string[], input?: string): Promise<KubectlResult> => {
    if (plane === undefined) throw new Error("the control plane did not start");
    return plane.kubectl(args, input === undefined ? {} : { input });
  };

  const read = async <T>(kind: string, name: string): Promise<T | undefined> => {
    const result = await kubectl(["get", "-n", namespace, kind, name, "-o", "json"]);
    if (result.code !== 0) {
      if (result.stderr.includes("NotFound")) return undefined;
      throw new Error(result.stderr);
    }
    return JSON.parse(result.stdout) as T;
  };

  return {
    namespace,
    errors,
    onError: (what, error) => errors.push(`${what}: ${String(error)}`),
    start: async () => {
      plane = await startControlPlaneWithCrds();
      const created = await kubectl(["create", "namespace", namespace]);
      expect(created, created.stderr).toMatchObject({ code: 0 });
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromFile(plane.kubeconfigPath);
      loaded = kubeConfig;
      return kubeConfig;
    },
    stop: async () => {
      await plane?.stop();
    },
    kubeConfig: () => {
      if (loaded === undefined) throw new Error("no kubeconfig");
      return loaded;
    },
    kubectl,
    get: (kind, name) => read<Obj>(kind, name),
    mustApply: async (manifest) => {
      const applied = await kubectl(["apply", "-n", namespace, "-f", "-"], JSON.stringify(manifest));
      expect(applied, applied.stderr).toMatchObject({ code: 0 });
    },
    eventsFor: async (name) => {
      const selector = `involvedObject.name=${name}`;
      const result = await kubectl([
        "get",
        "events",
        "-n",
        namespace,
        "--field-selector",
        selector,
        "-o",
        "json",
      ]);
      expect(result, result.stderr).toMatchObject({ code: 0 });
      return (JSON.parse(result.stdout) as { items: KubeEvent[] }).items;
    },
    admitPod: async (name, template) => {
      const pod = {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name, labels: template.metadata?.labels },
        spec: template.spec,
      };
      return kubectl(["create", "--dry-run=server", "-n", namespace, "-f", "-"], JSON.stringify(pod));
    },
    enforceRestricted: async () => {
      const labelled = await kubectl([
        "label",
        "namespace",
        namespace,
        "pod-security.kubernetes.io/enforce=restricted",
        "pod-security.kubernetes.io/enforce-version=latest",
      ]);
      expect(labelled, labelled.stderr).toMatchObject({ code: 0 });
    },
    untilCondition: async (kind, name, type, reason, timeoutMs) =>
      await waitFor(
        async () => {
          const object = await read<{ status?: { conditions?: KubeCondition[] } }>(kind, name);
          const found = object?.status?.conditions?.find((condition) => condition.type === type);
          return found?.reason === reason ? found : undefined;
        },
        timeoutMs,
        `${kind} ${name} condition ${type} ${reason}`,
      ),
    untilDeploymentSettled: async (deployment, ownerKind, ownerName, replicas, timeoutMs) => {
      await waitFor(
        async () => {
          const child = await read<Settling>("deployment", deployment);
          const owner = await read<Settling>(ownerKind, ownerName);
          return (
            child?.status?.observedGeneration === child?.metadata.generation &&
            child?.status?.replicas === replicas &&
            owner?.status?.replicas === replicas
          );
        },
        timeoutMs,
        "the Deployment to settle",
      );
    },
  };
}
