import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { KubeConfig } from "@kubernetes/client-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { agentChildName } from "../../operator/builders/agent-endpoint.js";
import { AgentEndpointReconciler } from "../../operator/reconcilers/agent-endpoint.js";
import { waitFor } from "../conformance/helpers.js";
import { helmTestPlane } from "../harness/kube-helm.js";
import { BUNDLE_CRDS_PATH, BUNDLE_NAMESPACE, BUNDLE_PATH, BUNDLE_RELEASE } from "../tools/manifest-bundle.js";

/**
 * Upgrade and uninstall on a real kube-apiserver + kube-controller-manager (garbage collector, namespace
 * controller), in the order docs/operator.md gives them: the kubectl bundle is installed and an agent runs;
 * deleting the bundle's operator file leaves the CRDs, the resources and the agent's Deployment; `helm install`
 * adopts the bundle's objects; `helm upgrade` to a chart whose CRD changed applies the new CRD; `helm uninstall`
 * keeps the CRDs (`crds.keep`) and so the agents. Last, the contrast: deleting a CRD does take the agents.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = join("charts", "beast-mode-network");
const APPS = "apps";

const testPlane = helmTestPlane(root);
const { kubectl, helm } = testPlane;
const controlPlane = testPlane.plane;
let chartCopy: string | undefined;

async function mustKubectl(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  expect(result, `kubectl ${args.join(" ")}: ${result.stderr}`).toMatchObject({ code: 0 });
  return result.stdout;
}

interface BundleObject {
  kind: string;
  metadata: { name: string; namespace?: string };
}
const bundleObjects = (path: string): BundleObject[] =>
  parseAllDocuments(readFileSync(join(root, path), "utf8"))
    .map((document) => document.toJS() as BundleObject | null)
    .filter((object): object is BundleObject => object !== null);

const exists = async (...args: string[]): Promise<boolean> => (await kubectl(["get", ...args])).code === 0;

const endpoint = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "AgentEndpoint",
  metadata: { name: "hello", namespace: APPS },
  spec: {
    domain: "team-a",
    agent: "hello",
    template: { spec: { containers: [{ name: "agent", image: "registry.example/hello:1" }] } },
  },
};
// The builder names the child from metadata only; the rest of the resource does not matter here.
const agentDeployment = agentChildName(endpoint as unknown as Parameters<typeof agentChildName>[0]);

/** Every agent-side object that must outlive the operator's uninstall. */
async function agentsStillThere(): Promise<void> {
  expect(await exists("crd", "agentendpoints.beastmode.network")).toBe(true);
  expect(await exists("messagedomain", "team-a", "-n", APPS)).toBe(true);
  expect(await exists("agentendpoint", "hello", "-n", APPS)).toBe(true);
  expect(await exists("deployment", agentDeployment, "-n", APPS)).toBe(true);
}

beforeAll(async () => {
  await testPlane.start();
});

afterAll(async () => {
  await testPlane.stop();
  if (chartCopy !== undefined) rmSync(chartCopy, { recursive: true, force: true });
});

describe("upgrade and uninstall of the operator", () => {
  it("the bundle applies with kubectl apply --server-side, twice: CRDs, namespace, RBAC and operator", async () => {
    await mustKubectl(["apply", "--server-side", "-f", BUNDLE_CRDS_PATH, "-f", BUNDLE_PATH]);
    const crds = bundleObjects(BUNDLE_CRDS_PATH);
    expect(crds.map((object) => object.kind)).toEqual(Array(3).fill("CustomResourceDefinition"));
    const bundle = [...crds, ...bundleObjects(BUNDLE_PATH)];
    expect(bundle.map((object) => object.kind)).toEqual(
      expect.arrayContaining(["Namespace", "ClusterRole", "Role", "Deployment", "PodDisruptionBudget"]),
    );
    for (const object of bundle) {
      const namespaced = object.metadata.namespace === undefined ? [] : ["-n", object.metadata.namespace];
      expect(
        await exists(object.kind, object.metadata.name, ...namespaced),
        `${object.kind} ${object.metadata.name}`,
      ).toBe(true);
    }
    await mustKubectl(["apply", "--server-side", "-f", BUNDLE_CRDS_PATH, "-f", BUNDLE_PATH]);
    await mustKubectl(["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"]);
  });

  it("deleting the bundle's operator file leaves the CRDs, the resources and the agents' Deployments", async () => {
    await mustKubectl(["create", "namespace", APPS]);
    await mustKubectl(
      ["apply", "-n", APPS, "-f", "-"],
      JSON.stringify({
        apiVersion: "beastmode.network/v1alpha1",
        kind: "MessageDomain",
        metadata: { name: "team-a" },
        spec: {},
      }),
    );
    await mustKubectl(["apply", "-n", APPS, "-f", "-"], JSON.stringify(endpoint));
    // The operator's reconcile, in process (there is no kubelet to run the bundle's operator pod).
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromFile(controlPlane().kubeconfigPath);
    const result = await new AgentEndpointReconciler(kubeConfig).reconcile(APPS, "hello");
    expect(result.found).toBe(true);
    expect(await exists("deployment", agentDeployment, "-n", APPS)).toBe(true);

    await mustKubectl(["delete", "-f", BUNDLE_PATH, "--wait=true", "--timeout=90s"]);
    await waitFor(async () => !(await exists("namespace", BUNDLE_NAMESPACE)), 60_000, "the namespace to go");
    await agentsStillThere();
  });

  it("helm install adopts the objects the bundle created", async () => {
    await mustKubectl(["apply", "--server-side", "-f", BUNDLE_CRDS_PATH, "-f", BUNDLE_PATH]);
    const installed = await helm(["install", BUNDLE_RELEASE, CHART, "--namespace", BUNDLE_NAMESPACE]);
    expect(installed, installed.stderr).toMatchObject({ code: 0 });
    expect(installed.stdout).toContain("STATUS: deployed");
    const manifest = await helm(["get", "manifest", BUNDLE_RELEASE, "--namespace", BUNDLE_NAMESPACE]);
    expect(manifest.stdout).toContain("name: agentendpoints.beastmode.network");
    await agentsStillThere();
  });

  it("helm upgrade applies a changed CRD (the CRDs are templates, not crds/)", async () => {
    chartCopy = mkdtempSync(join(tmpdir(), "bmn-chart-"));
    cpSync(join(root, CHART), chartCopy, { recursive: true });
    // The next release's CRD: a new spec field, and a new chart version.
    const crdPath = join(chartCopy, "templates", "crd-messagedomains.yaml");
    const crd = readFileSync(crdPath, "utf8");
    const anchor = /^( +)sidecarImage:\n/m.exec(crd);
    if (anchor?.[1] === undefined) throw new Error("no spec.sidecarImage in the MessageDomain CRD");
    const indent = anchor[1];
    const field = `${indent}upgradeProbe:\n${indent}  description: A field the next release adds.\n${indent}  type: string\n`;
    writeFileSync(crdPath, crd.replace(anchor[0], `${field}${anchor[0]}`));
    const chartYaml = join(chartCopy, "Chart.yaml");
    writeFileSync(chartYaml, readFileSync(chartYaml, "utf8").replace(/^version: .*$/m, "version: 0.1.1"));

    // Before the upgrade the apiserver prunes the unknown field.
    const domain = (value: string): string =>
      JSON.stringify({
        apiVersion: "beastmode.network/v1alpha1",
        kind: "MessageDomain",
        metadata: { name: "upgraded" },
        spec: { upgradeProbe: value },
      });
    const before = await kubectl(["apply", "-n", APPS, "-f", "-"], domain("before"));
    expect(before.stderr).toContain('unknown field "spec.upgradeProbe"');

    const upgraded = await helm(["upgrade", BUNDLE_RELEASE, chartCopy, "--namespace", BUNDLE_NAMESPACE]);
    expect(upgraded, upgraded.stderr).toMatchObject({ code: 0 });
    const schema = await mustKubectl([
      "get",
      "crd",
      "messagedomains.beastmode.network",
      "-o",
      "jsonpath={.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.upgradeProbe.description}",
    ]);
    expect(schema).toBe("A field the next release adds.");
    // The apiserver serves the new field once the CRD's new version is established.
    await waitFor(
      async () => (await kubectl(["apply", "-n", APPS, "-f", "-"], domain("after"))).code === 0,
      30_000,
      "the upgraded CRD to accept spec.upgradeProbe",
    );
    expect(
      await mustKubectl([
        "get",
        "messagedomain",
        "upgraded",
        "-n",
        APPS,
        "-o",
        "jsonpath={.spec.upgradeProbe}",
      ]),
    ).toBe("after");
    await agentsStillThere();
  });

  it("helm uninstall removes the operator and keeps the CRDs (crds.keep), the resources and their Deployments", async () => {
    const removed = await helm(["uninstall", BUNDLE_RELEASE, "--namespace", BUNDLE_NAMESPACE, "--wait"]);
    expect(removed, removed.stderr).toMatchObject({ code: 0 });
    expect(removed.stdout + removed.stderr).toMatch(/These resources were kept due to the resource policy/);
    expect(await exists("deployment", "beast-mode-network-bmn-operator", "-n", BUNDLE_NAMESPACE)).toBe(false);
    await agentsStillThere();
  });

  it("renders the CRDs only with crds.enabled, and marks them keep only with crds.keep", async () => {
    const render = async (...sets: string[]): Promise<string> => {
      const args = ["template", "r", CHART, "--kube-version", controlPlane().binaries.version];
      const rendered = await helm([...args, ...sets.flatMap((set) => ["--set", set])]);
      expect(rendered, rendered.stderr).toMatchObject({ code: 0 });
      return rendered.stdout;
    };
    const defaults = await render();
    expect(defaults.match(/^kind: CustomResourceDefinition$/gm)).toHaveLength(3);
    expect(defaults.match(/helm\.sh\/resource-policy: keep/g)).toHaveLength(3);
    expect(await render("crds.keep=false")).not.toContain("helm.sh/resource-policy");
    expect(await render("crds.enabled=false")).not.toContain("CustomResourceDefinition");
  });

  it("for contrast: garbage collection does run here, so the agents above outlived the operator for real", async () => {
    // Foreground deletion: the AgentEndpoint goes only once the garbage collector has deleted its Deployment.
    await mustKubectl([
      "delete",
      "agentendpoint",
      "hello",
      "-n",
      APPS,
      "--cascade=foreground",
      "--wait=true",
    ]);
    expect(await exists("deployment", agentDeployment, "-n", APPS)).toBe(false);
  });
});
