import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { freePort } from "../harness/free-port.js";
import { DEFAULT_CONTROLLERS, type ControlPlane } from "../harness/kube-control-plane.js";
import { runHelm } from "../harness/kube-helm.js";
import { startControlPlaneWithCrds } from "../harness/kube-with-crds.js";
import { spawnOperator, type OperatorProcess } from "../harness/operator-process.js";
import { until } from "../harness/poll-until.js";

/**
 * Sidecar injection on a real kube-apiserver: the chart's MutatingWebhookConfiguration (pointed at the operator
 * process by url instead of its Service), the real `bmn operator` making its own certificate and setting the
 * caBundle, and pods created by a real Deployment controller. The apiserver verifies the operator's certificate
 * (Go's TLS), so a wrong certificate or caBundle fails the injection.
 */

const OPERATOR_NS = "bmn-system";
const APPS_NS = "apps";
const WEBHOOK_CONFIG = "bmn-sidecar-injector";
const TLS_SECRET = "bmn-injection-tls";
const IMAGE = "registry.example/bmn:1";
const INJECT = {
  "beastmode.network/inject": "true",
  "beastmode.network/agent": "billing",
  "beastmode.network/domain": "team-a",
};

interface PodJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: {
    initContainers?: { name: string; image: string; restartPolicy?: string }[];
    containers: { name: string; env?: { name: string; value?: string }[] }[];
    volumes?: { name: string }[];
  };
}

let plane: ControlPlane | undefined;
let operator: OperatorProcess | undefined;

function controlPlane(): ControlPlane {
  if (plane === undefined) throw new Error("the control plane did not start");
  return plane;
}

async function kubectl(
  args: readonly string[],
  input?: string,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return controlPlane().kubectl(args, input === undefined ? {} : { input });
}

async function mustKubectl(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

function podYaml(namespace: string, name: string, annotations: Record<string, string>, extra = ""): string {
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, annotations },
    spec: {
      containers: [{ name: "app", image: "registry.example/app:1" }],
      ...(extra === "" ? {} : (JSON.parse(extra) as object)),
    },
  });
}

/** `kubectl create --dry-run=server`: the pod as admission (webhooks included) would store it. */
async function admitted(pod: string): Promise<PodJson> {
  return JSON.parse(
    await mustKubectl(["create", "--dry-run=server", "-o", "json", "-f", "-"], pod),
  ) as PodJson;
}

const sidecars = (pod: PodJson) => (pod.spec.initContainers ?? []).filter((c) => c.name === "bmn-sidecar");

describe("sidecar injection by annotation on a real apiserver", () => {
  beforeAll(async () => {
    // The StatefulSet and Job controllers too: injection works on Pods, whatever creates them.
    plane = await startControlPlaneWithCrds({ controllers: [...DEFAULT_CONTROLLERS, "statefulset", "job"] });
    for (const namespace of [OPERATOR_NS, APPS_NS]) await mustKubectl(["create", "namespace", namespace]);
    await mustKubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "beastmode.network/v1alpha1",
        kind: "MessageDomain",
        metadata: { name: "team-a", namespace: APPS_NS },
        spec: { store: { type: "memory" } },
      }),
    );
    // The chart's webhook configuration, pointed at the operator process by url.
    const rendered = await runHelm(
      controlPlane(),
      [
        "template",
        "bmn",
        "charts/beast-mode-network",
        "--namespace",
        OPERATOR_NS,
        "--kube-version",
        controlPlane().binaries.version,
        "--show-only",
        "templates/injection-webhook.yaml",
      ],
      process.cwd(),
    );
    if (rendered.code !== 0) throw new Error(`helm template: ${rendered.stderr}`);
    const config = parseAllDocuments(rendered.stdout)
      .map((doc) => doc.toJS() as { kind?: string; webhooks?: { clientConfig: unknown }[] } | null)
      .find((doc) => doc?.kind === "MutatingWebhookConfiguration");
    if (config?.webhooks === undefined) throw new Error("the chart renders no MutatingWebhookConfiguration");
    const port = await freePort();
    for (const webhook of config.webhooks)
      webhook.clientConfig = { url: `https://127.0.0.1:${String(port)}/mutate-pods` };
    await mustKubectl(["apply", "-f", "-"], JSON.stringify(config));

    operator = spawnOperator("injector", [
      "--kubeconfig",
      controlPlane().kubeconfigPath,
      "--no-leader-elect",
      "--port",
      "0",
      "--default-image",
      IMAGE,
      "--injection-port",
      String(port),
      "--injection-service",
      "bmn-injector",
      "--injection-namespace",
      OPERATOR_NS,
      "--injection-secret",
      TLS_SECRET,
      "--injection-webhook-config",
      WEBHOOK_CONFIG,
      "--injection-extra-host",
      "127.0.0.1",
    ]);
    await operator.waitForLog("injection webhook listening", 60_000);
  }, 240_000);

  afterAll(async () => {
    operator?.kill("SIGTERM");
    await operator?.exited;
    await plane?.stop();
  }, 60_000);

  it("keeps its CA in a Secret and sets it as the webhook's caBundle", async () => {
    const secret = JSON.parse(
      await mustKubectl(["get", "secret", TLS_SECRET, "-n", OPERATOR_NS, "-o", "json"]),
    ) as {
      data: Record<string, string>;
    };
    expect(Object.keys(secret.data).sort()).toEqual(["ca.crt", "ca.key", "tls.crt", "tls.key"]);
    const config = JSON.parse(
      await mustKubectl(["get", "mutatingwebhookconfiguration", WEBHOOK_CONFIG, "-o", "json"]),
    ) as {
      webhooks: { clientConfig: { caBundle?: string } }[];
    };
    expect(config.webhooks.map((w) => w.clientConfig.caBundle)).toEqual([secret.data["ca.crt"]]);
  });

  it("gives the pods of an annotated Deployment the native sidecar with the domain's config", async () => {
    await mustKubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "apps/v1",
        kind: "Deployment",
        metadata: { name: "billing", namespace: APPS_NS },
        spec: {
          replicas: 2,
          selector: { matchLabels: { app: "billing" } },
          template: {
            metadata: { labels: { app: "billing" }, annotations: INJECT },
            spec: { containers: [{ name: "app", image: "registry.example/billing:1" }] },
          },
        },
      }),
    );
    const pods = await until(
      async () => {
        const list = JSON.parse(
          await mustKubectl(["get", "pods", "-n", APPS_NS, "-l", "app=billing", "-o", "json"]),
        ) as {
          items: PodJson[];
        };
        return list.items.length === 2 ? list.items : undefined;
      },
      60_000,
      "2 billing pods",
      async () => (await kubectl(["get", "events", "-n", APPS_NS])).stdout,
      200,
    );
    for (const pod of pods) {
      expect(pod.spec.initContainers?.[0]).toMatchObject({
        name: "bmn-sidecar",
        image: IMAGE,
        restartPolicy: "Always",
      });
      expect(sidecars(pod)).toHaveLength(1);
      expect(pod.spec.containers[0]?.env).toContainEqual({ name: "BMN_AGENT", value: "billing" });
      expect(pod.spec.volumes?.map((v) => v.name)).toContain("bmn-domain-config");
      expect(pod.metadata.annotations?.["beastmode.network/injected"]).toBe("billing@team-a");
    }
  });

  it("injects the pods of a StatefulSet and of a Job the same way", async () => {
    const template = {
      metadata: { labels: { app: "batch" }, annotations: { ...INJECT, "beastmode.network/agent": "batch" } },
      spec: {
        restartPolicy: "Never",
        containers: [{ name: "app", image: "registry.example/batch:1" }],
      },
    };
    await mustKubectl(
      ["apply", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "batch/v1",
            kind: "Job",
            metadata: { name: "batch", namespace: APPS_NS },
            spec: { backoffLimit: 0, template },
          },
          {
            apiVersion: "apps/v1",
            kind: "StatefulSet",
            metadata: { name: "ledger", namespace: APPS_NS },
            spec: {
              serviceName: "ledger",
              replicas: 1,
              selector: { matchLabels: { app: "ledger" } },
              template: {
                metadata: {
                  labels: { app: "ledger" },
                  annotations: { ...INJECT, "beastmode.network/agent": "ledger" },
                },
                spec: { containers: [{ name: "app", image: "registry.example/ledger:1" }] },
              },
            },
          },
        ],
      }),
    );
    for (const [selector, agent] of [
      ["job-name=batch", "batch"],
      ["app=ledger", "ledger"],
    ] as const) {
      const [pod] = await until(
        async () => {
          const list = JSON.parse(
            await mustKubectl(["get", "pods", "-n", APPS_NS, "-l", selector, "-o", "json"]),
          ) as { items: PodJson[] };
          return list.items.length > 0 ? list.items : undefined;
        },
        60_000,
        `a pod of ${selector}`,
        async () => (await kubectl(["get", "events", "-n", APPS_NS])).stdout,
        200,
      );
      expect(pod?.spec.initContainers?.[0]).toMatchObject({ name: "bmn-sidecar", restartPolicy: "Always" });
      expect(pod?.metadata.annotations?.["beastmode.network/injected"]).toBe(`${agent}@team-a`);
    }
  });

  it("leaves a pod that already has the sidecar as it is: re-admission is idempotent", async () => {
    const first = await admitted(podYaml(APPS_NS, "again", INJECT));
    expect(sidecars(first)).toHaveLength(1);
    const again = await admitted(
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "again", namespace: APPS_NS, annotations: first.metadata.annotations },
        spec: first.spec,
      }),
    );
    expect(again.spec).toEqual(first.spec);
  });

  it("never touches system namespaces, the operator's own, or pods not annotated", async () => {
    for (const namespace of ["kube-system", OPERATOR_NS]) {
      const pod = await admitted(podYaml(namespace, "annotated", INJECT));
      expect(pod.spec.initContainers ?? []).toEqual([]);
      expect(pod.metadata.annotations?.["beastmode.network/injected"]).toBeUndefined();
    }
    const plain = await admitted(podYaml(APPS_NS, "plain", {}));
    expect(plain.spec.initContainers ?? []).toEqual([]);
  });

  it("refuses a pod annotated for a MessageDomain that does not exist, saying which", async () => {
    const result = await kubectl(
      ["create", "--dry-run=server", "-f", "-"],
      podYaml(APPS_NS, "lost", { ...INJECT, "beastmode.network/domain": "nowhere" }),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("no MessageDomain nowhere in namespace apps");
  });
});
