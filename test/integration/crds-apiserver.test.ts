import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../harness/kube-control-plane.js";
import { startControlPlaneWithCrds } from "../harness/kube-with-crds.js";

/**
 * The generated CRDs and samples on a real kube-apiserver (built from Go modules by test/tools/k8s/build.sh,
 * which .ci/run runs): structural schemas accepted, defaults and CEL rules enforced, the scale subresource usable.
 */
let plane: ControlPlane | undefined;

const kubectl = (args: readonly string[], input?: string): ReturnType<ControlPlane["kubectl"]> => {
  if (plane === undefined) throw new Error("the control plane did not start");
  return plane.kubectl(args, input === undefined ? {} : { input });
};
const apply = (manifest: object): ReturnType<ControlPlane["kubectl"]> =>
  kubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(manifest));

beforeAll(async () => {
  plane = await startControlPlaneWithCrds();
});

afterAll(async () => {
  await plane?.stop();
});

describe("CRDs on a real kube-apiserver", () => {
  it("establishes all three kinds with their names, short names and the beastmode category", async () => {
    const crds = await kubectl([
      "get",
      "crd",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name} {.spec.names.shortNames} {.spec.names.categories}{"\\n"}{end}',
    ]);
    expect(crds.code).toBe(0);
    const lines = crds.stdout.trim().split("\n").sort();
    expect(lines).toHaveLength(3);
    expect(lines.join("\n")).toMatch(
      /^agentendpoints\.beastmode\.network .*\n.*gateways\.beastmode\.network .*\n.*messagedomains\.beastmode\.network /,
    );
    for (const line of lines) expect(line).toContain('["beastmode"]');
    expect(crds.stdout).not.toMatch(/"gateway"/);
    const conditions = await kubectl([
      "get",
      "crd",
      "-o",
      'jsonpath={.items[*].status.conditions[?(@.type=="NonStructuralSchema")].status}',
    ]);
    expect(conditions.stdout.trim()).toBe("");
  });

  it("accepts the samples, fills defaults, and lists them under `kubectl get beastmode`", async () => {
    const created = await kubectl(["apply", "--server-side", "-f", "manifests/samples/"]);
    expect(created, created.stderr).toMatchObject({ code: 0 });
    const listed = await kubectl(["get", "beastmode", "-o", "name"]);
    expect(listed.stdout.trim().split("\n").sort()).toEqual(
      [
        "agentendpoint.beastmode.network/code-reviewer",
        "gateway.beastmode.network/team-a-edge",
        "messagedomain.beastmode.network/team-a",
      ].sort(),
    );
  });

  it("scales an AgentEndpoint through its scale subresource", async () => {
    const scaled = await kubectl(["scale", "agentendpoint/code-reviewer", "--replicas=3"]);
    expect(scaled, scaled.stderr).toMatchObject({ code: 0 });
    const replicas = await kubectl(["get", "agentendpoint/code-reviewer", "-o", "jsonpath={.spec.replicas}"]);
    expect(replicas.stdout).toBe("3");
  });

  it.each([
    {
      name: "a backoff base above its max (a CEL rule across fields)",
      spec: { store: { type: "memory" }, delivery: { backoff: { baseMs: 5_000, maxMs: 100 } } },
      field: "spec.delivery.backoff.baseMs",
    },
    { name: "an unknown store type", spec: { store: { type: "mongodb" } }, field: "spec.store.type" },
    {
      name: "a fractional maxAttempts",
      spec: { store: { type: "memory" }, delivery: { maxAttempts: 1.5 } },
      field: "spec.delivery.maxAttempts",
    },
  ])("refuses a MessageDomain with $name, naming the field", async ({ spec, field }) => {
    const refused = await apply({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "MessageDomain",
      metadata: { name: "refused" },
      spec,
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(field);
    const absent = await kubectl(["get", "messagedomain/refused", "--ignore-not-found", "-o", "name"]);
    expect(absent.stdout.trim()).toBe("");
  });
});
