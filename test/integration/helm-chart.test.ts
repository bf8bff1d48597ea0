import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { waitFor } from "../conformance/helpers.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { helmTestPlane } from "../harness/kube-helm.js";
import { BUNDLE_CRDS_PATH, BUNDLE_PATH, renderManifestBundle } from "../tools/manifest-bundle.js";

/**
 * The Helm chart and the kubectl bundle on a real control plane (built by test/tools/k8s/build.sh): `helm lint`
 * is clean, every rendered object passes the apiserver's server-side dry run, `helm install` creates the
 * operator's objects and the CRDs, and the kubectl bundle (manifests/crds.yaml, manifests/beast-mode-network.yaml)
 * is current and applies server-side. Upgrades, uninstall and adoption of the bundle: helm-chart-upgrade.test.ts.
 */
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const CHART = "charts/beast-mode-network";

const testPlane = helmTestPlane(root);
const { kubectl, helm } = testPlane;
const controlPlane = testPlane.plane;

interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string };
}

function objects(yamlText: string): K8sObject[] {
  return parseAllDocuments(yamlText)
    .map((doc) => doc.toJS() as K8sObject | null)
    .filter((object): object is K8sObject => object !== null);
}

async function template(releaseNamespace: string, sets: readonly string[]): Promise<string> {
  const args = ["template", "bmn", CHART, "--namespace", releaseNamespace, "--include-crds"];
  args.push("--kube-version", controlPlane().binaries.version);
  for (const set of sets) args.push("--set", set);
  const rendered = await helm(args);
  expect(rendered, rendered.stderr).toMatchObject({ code: 0 });
  return rendered.stdout;
}

beforeAll(async () => {
  await testPlane.start();
});

afterAll(async () => {
  await testPlane.stop();
});

describe("the Helm chart on a real kube-apiserver", () => {
  it("passes helm lint --strict with no warnings or errors", async () => {
    for (const sets of [[], ["operator.watchNamespace=apps", "rbac.secretNamespaces={apps,team-b}"]]) {
      const lint = await helm(["lint", CHART, "--strict", ...sets.flatMap((set) => ["--set", set])]);
      expect(lint, lint.stdout + lint.stderr).toMatchObject({ code: 0 });
      expect(lint.stdout).toContain("1 chart(s) linted, 0 chart(s) failed");
      expect(lint.stdout).not.toMatch(/\[(WARNING|ERROR)\]/);
    }
  });

  it("refuses values the zod-generated schema refuses, naming the key", async () => {
    const refused = await helm([
      "template",
      "bmn",
      CHART,
      "--set",
      "replicaCount=two",
      "--kube-version",
      "1.36.3",
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("/replicaCount");
    const unknown = await helm(["template", "bmn", CHART, "--set", "replicas=2", "--kube-version", "1.36.3"]);
    expect(unknown.stderr).toMatch(/additional properties 'replicas' not allowed/);
  });

  it.each([
    { name: "default values", sets: [] as string[], binding: "ClusterRoleBinding", role: "ClusterRole" },
    {
      name: "one watched namespace and Secret access in two",
      sets: ["operator.watchNamespace=apps", "rbac.secretNamespaces={apps,team-b}", "replicaCount=1"],
      binding: "RoleBinding",
      role: "Role",
    },
  ])(
    "renders objects the apiserver accepts in a server-side dry run ($name)",
    async ({ sets, binding, role }) => {
      for (const namespace of ["bmn-dry", "apps", "team-b"])
        await kubectl(["create", "namespace", namespace]).then((result) => {
          expect(result.code === 0 || result.stderr.includes("AlreadyExists"), result.stderr).toBe(true);
        });
      const rendered = await template("bmn-dry", sets);
      const kinds = objects(rendered).map((object) => object.kind);
      expect(kinds).toEqual(
        expect.arrayContaining([
          "CustomResourceDefinition",
          "ServiceAccount",
          role,
          binding,
          "Role",
          "RoleBinding",
          "Service",
          "Deployment",
        ]),
      );
      expect(kinds.filter((kind) => kind === "CustomResourceDefinition")).toHaveLength(3);
      // No cluster-wide Secret access in any rendering: Secrets appear only in namespaced Roles.
      for (const object of objects(rendered).filter((o) => o.kind === "ClusterRole"))
        expect(JSON.stringify(object)).not.toContain("secrets");
      // Watching one namespace grants nothing cluster-wide: the operator's rules are a Role there.
      if (role === "Role") {
        expect(kinds).not.toContain("ClusterRole");
        expect(kinds).not.toContain("ClusterRoleBinding");
        const operatorRole = objects(rendered).find(
          (o) => o.kind === "Role" && o.metadata.name === "bmn-operator",
        );
        expect(operatorRole?.metadata.namespace).toBe("apps");
      }

      const dryRun = await kubectl(["apply", "--dry-run=server", "-f", "-"], rendered);
      expect(dryRun, dryRun.stderr).toMatchObject({ code: 0 });
      expect(dryRun.stdout).toContain("deployment.apps/bmn-operator created (server dry run)");
    },
  );

  it("passes pod and container securityContext, topology spread, extra args and env through, with a PDB", async () => {
    await kubectl(["create", "namespace", "bmn-values"]);
    const rendered = await template("bmn-values", [
      "podSecurityContext.runAsUser=2000",
      "securityContext.readOnlyRootFilesystem=false",
      "topologySpreadConstraints[0].maxSkew=1",
      "topologySpreadConstraints[0].topologyKey=topology.kubernetes.io/zone",
      "topologySpreadConstraints[0].whenUnsatisfiable=ScheduleAnyway",
      "extraArgs={--store-probe-interval=10}",
      "extraEnv[0].name=NODE_OPTIONS",
      "extraEnv[0].value=--max-old-space-size=200",
      "podDisruptionBudget.maxUnavailable=50%",
    ]);
    const all = objects(rendered) as (K8sObject & { spec?: Record<string, unknown> })[];
    const deployment = all.find((o) => o.kind === "Deployment") as
      | (K8sObject & {
          spec: {
            template: {
              spec: {
                securityContext: Record<string, unknown>;
                topologySpreadConstraints: Record<string, unknown>[];
                containers: {
                  args: string[];
                  env: { name: string }[];
                  securityContext: Record<string, unknown>;
                }[];
              };
            };
          };
        })
      | undefined;
    const pod = deployment?.spec.template.spec;
    expect(pod?.securityContext).toMatchObject({ runAsUser: 2000, runAsNonRoot: true });
    expect(pod?.topologySpreadConstraints).toEqual([
      { maxSkew: 1, topologyKey: "topology.kubernetes.io/zone", whenUnsatisfiable: "ScheduleAnyway" },
    ]);
    expect(pod?.containers[0]?.securityContext).toMatchObject({
      readOnlyRootFilesystem: false,
      allowPrivilegeEscalation: false,
    });
    expect(pod?.containers[0]?.args).toContain("--store-probe-interval=10");
    expect(pod?.containers[0]?.env.map((env) => env.name)).toEqual([
      "POD_NAME",
      "POD_NAMESPACE",
      "NODE_OPTIONS",
    ]);
    const pdb = all.find((o) => o.kind === "PodDisruptionBudget");
    expect(pdb?.spec).toMatchObject({ maxUnavailable: "50%" });
    const dryRun = await kubectl(["apply", "--dry-run=server", "-f", "-"], rendered);
    expect(dryRun, dryRun.stderr).toMatchObject({ code: 0 });
    expect(dryRun.stdout).toContain("poddisruptionbudget.policy/bmn-operator created (server dry run)");
    const without = await template("bmn-values", ["podDisruptionBudget.enabled=false"]);
    expect(objects(without).map((o) => o.kind)).not.toContain("PodDisruptionBudget");
  });

  it("the operator pod is admitted in a namespace that enforces Pod Security restricted", async () => {
    const namespace = "bmn-restricted";
    const created = await kubectl(["create", "namespace", namespace]);
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const labelled = await kubectl([
      "label",
      "namespace",
      namespace,
      "pod-security.kubernetes.io/enforce=restricted",
      "pod-security.kubernetes.io/enforce-version=latest",
    ]);
    expect(labelled, labelled.stderr).toMatchObject({ code: 0 });
    const deployment = objects(await template(namespace, [])).find((o) => o.kind === "Deployment") as
      (K8sObject & { spec: { template: { metadata: object; spec: object } } }) | undefined;
    if (deployment === undefined) throw new Error("the chart rendered no Deployment");
    // No kubelet here: a Pod created from the template with a server-side dry run goes through admission.
    const pod = {
      apiVersion: "v1",
      kind: "Pod",
      metadata: { ...deployment.spec.template.metadata, name: "operator", namespace },
      spec: deployment.spec.template.spec,
    };
    const admitted = await kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(pod));
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
    // The check can fail: the same pod allowed to escalate privileges is refused.
    const loosened = JSON.parse(JSON.stringify(pod)) as typeof pod & {
      spec: { containers: { securityContext: Record<string, unknown> }[] };
    };
    for (const container of loosened.spec.containers)
      container.securityContext.allowPrivilegeEscalation = true;
    const refused = await kubectl(["create", "--dry-run=server", "-f", "-"], JSON.stringify(loosened));
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("violates PodSecurity");
  });

  it("installs with helm: CRDs, ServiceAccount, RBAC and the operator Deployment appear", async () => {
    const installed = await helm([
      "install",
      "bmn",
      CHART,
      "--namespace",
      "bmn-helm",
      "--create-namespace",
      "--set",
      "rbac.secretNamespaces={bmn-helm}",
    ]);
    expect(installed, installed.stderr).toMatchObject({ code: 0 });
    expect(installed.stdout).toContain("STATUS: deployed");
    expect(installed.stdout).toContain("The Beast Mode Network operator is installed in namespace bmn-helm");

    const crds = await kubectl(["get", "crd", "-o", "name"]);
    expect(crds.stdout.trim().split("\n").sort()).toEqual([
      "customresourcedefinition.apiextensions.k8s.io/agentendpoints.beastmode.network",
      "customresourcedefinition.apiextensions.k8s.io/bmngateways.beastmode.network",
      "customresourcedefinition.apiextensions.k8s.io/messagedomains.beastmode.network",
    ]);
    const namespaced = await kubectl([
      "get",
      "-n",
      "bmn-helm",
      "serviceaccount/bmn",
      "deployment/bmn-operator",
      "service/bmn-operator-metrics",
      "role/bmn-leader-election",
      "rolebinding/bmn-leader-election",
      "role/bmn-secrets",
      "rolebinding/bmn-secrets",
      "-o",
      "name",
    ]);
    expect(namespaced, namespaced.stderr).toMatchObject({ code: 0 });
    const cluster = await kubectl([
      "get",
      "clusterrole/bmn-operator",
      "clusterrolebinding/bmn-operator",
      "-o",
      "name",
    ]);
    expect(cluster, cluster.stderr).toMatchObject({ code: 0 });

    const deployment = JSON.parse(
      (await kubectl(["get", "-n", "bmn-helm", "deployment/bmn-operator", "-o", "json"])).stdout,
    ) as {
      spec: {
        replicas: number;
        template: {
          spec: {
            serviceAccountName: string;
            securityContext: { runAsNonRoot: boolean };
            containers: {
              image: string;
              args: string[];
              securityContext: { readOnlyRootFilesystem: boolean; allowPrivilegeEscalation: boolean };
              livenessProbe: { httpGet: { path: string } };
              readinessProbe: { httpGet: { path: string } };
              resources: { requests?: Record<string, string>; limits?: Record<string, string> };
            }[];
          };
        };
      };
    };
    const pod = deployment.spec.template.spec;
    const container = pod.containers[0];
    expect(deployment.spec.replicas).toBe(2);
    expect(pod.serviceAccountName).toBe("bmn");
    expect(pod.securityContext.runAsNonRoot).toBe(true);
    expect(container?.image).toBe("ghcr.io/beast-mode-network/bmn:0.1.0");
    expect(container?.args[0]).toBe("operator");
    expect(container?.securityContext).toMatchObject({
      readOnlyRootFilesystem: true,
      allowPrivilegeEscalation: false,
    });
    expect(container?.livenessProbe.httpGet.path).toBe("/healthz");
    expect(container?.readinessProbe.httpGet.path).toBe("/readyz");
    expect(container?.resources.requests).toBeDefined();

    const status = await helm(["status", "bmn", "--namespace", "bmn-helm"]);
    expect(status.stdout).toContain("STATUS: deployed");
  });

  it("with operator.watchNamespace the operator's ServiceAccount may write children in that namespace only", async () => {
    for (const namespace of ["bmn-scoped", "watched", "elsewhere"])
      await kubectl(["create", "namespace", namespace]);
    // No CRDs: release bmn above owns them.
    const rendered = await template("bmn-scoped", ["operator.watchNamespace=watched", "crds.enabled=false"]);
    const applied = await kubectl(["apply", "--server-side", "-f", "-"], rendered);
    expect(applied, applied.stderr).toMatchObject({ code: 0 });
    const as = "--as=system:serviceaccount:bmn-scoped:bmn";
    const canI = async (...question: string[]): Promise<string> =>
      (await kubectl(["auth", "can-i", as, ...question])).stdout.trim();
    for (const verb of ["create", "patch", "delete"])
      for (const resource of ["deployments.apps", "networkpolicies.networking.k8s.io", "services"]) {
        expect(await canI(verb, resource, "-n", "watched"), `${verb} ${resource} in watched`).toBe("yes");
        expect(await canI(verb, resource, "-n", "elsewhere"), `${verb} ${resource} elsewhere`).toBe("no");
      }
    expect(await canI("watch", "agentendpoints.beastmode.network", "-n", "watched")).toBe("yes");
    expect(await canI("watch", "agentendpoints.beastmode.network", "--all-namespaces")).toBe("no");
  });

  it("aggregates BMN's kinds into the default view and edit ClusterRoles", async () => {
    for (const [user, role] of [
      ["alice", "view"],
      ["bob", "edit"],
    ] as const) {
      const bound = await kubectl([
        "create",
        "rolebinding",
        `${user}-${role}`,
        "-n",
        "bmn-helm",
        `--clusterrole=${role}`,
        `--user=${user}`,
      ]);
      expect(bound, bound.stderr).toMatchObject({ code: 0 });
    }
    const can = async (user: string, verb: string, resource: string): Promise<boolean> =>
      (await kubectl(["auth", "can-i", verb, resource, "-n", "bmn-helm", `--as=${user}`])).stdout.trim() ===
      "yes";
    // The clusterrole-aggregation controller fills view and edit shortly after the chart's roles appear.
    await waitFor(
      async () =>
        (await can("alice", "list", "bmngateways.beastmode.network")) &&
        (await can("bob", "create", "agentendpoints.beastmode.network")),
      20_000,
      "the aggregated rules in view and edit",
    );
    expect(await can("alice", "get", "messagedomains.beastmode.network")).toBe(true);
    expect(await can("alice", "create", "messagedomains.beastmode.network")).toBe(false);
    expect(await can("alice", "update", "agentendpoints.beastmode.network/status")).toBe(false);
    expect(await can("bob", "patch", "bmngateways.beastmode.network/scale")).toBe(true);
    expect(await can("bob", "delete", "messagedomains.beastmode.network")).toBe(true);
  });
});

describe(`the kubectl bundle ${BUNDLE_CRDS_PATH} and ${BUNDLE_PATH}`, () => {
  it("is the chart rendered by helm template (run `npm run generate:manifests` when this fails)", async () => {
    const expected = await renderManifestBundle(
      controlPlane().binaries.helm,
      controlPlane().binaries.version,
      root,
    );
    const stale = "stale: run npm run generate:manifests";
    expect(readFileSync(join(root, BUNDLE_CRDS_PATH), "utf8"), stale).toBe(expected.crds);
    expect(readFileSync(join(root, BUNDLE_PATH), "utf8"), stale).toBe(expected.operator);
  });
});
