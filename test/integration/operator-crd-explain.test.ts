import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import type { ControlPlane } from "../harness/kube-control-plane.js";
import { startControlPlaneWithCrds } from "../harness/kube-with-crds.js";
import { until } from "../harness/poll-until.js";

/**
 * `kubectl explain` documents every field of the three CRDs (descriptions generated from the zod schemas'
 * `.describe()`): on a real kube-apiserver, every object field of every kind is explained, no field says
 * `<no description>`, and each child's own description is shown.
 */
interface SchemaNode {
  description?: string;
  type?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
}

const PLURALS = ["messagedomains", "bmngateways", "agentendpoints"];
const STANDARD_FIELDS = ["apiVersion", "kind", "metadata"];

function rootSchema(plural: string): SchemaNode {
  const crd = parseYaml(readFileSync(`crds/beastmode.network_${plural}.yaml`, "utf8")) as {
    spec: { versions: { schema: { openAPIV3Schema: SchemaNode } }[] };
  };
  const root = crd.spec.versions[0]?.schema.openAPIV3Schema;
  if (root === undefined) throw new Error(`${plural}: no schema`);
  return root;
}

/** Every path (as `kubectl explain` takes it) of a node with fields, with the node. */
function objectPaths(node: SchemaNode, path: string): [string, SchemaNode][] {
  const own = node.items ?? node;
  if (own.properties === undefined) return [];
  return [
    [path, own],
    ...Object.entries(own.properties).flatMap(([name, child]) => objectPaths(child, `${path}.${name}`)),
  ];
}

let plane: ControlPlane | undefined;

beforeAll(async () => {
  const started = await startControlPlaneWithCrds();
  plane = started;
  // A CRD that is Established may still be missing from the apiserver's OpenAPI, which `kubectl explain` reads.
  await until(
    async () => {
      for (const plural of PLURALS) if ((await started.kubectl(["explain", plural])).code !== 0) return false;
      return true;
    },
    60_000,
    "kubectl explain to know the CRDs",
    undefined,
    250,
  );
}, 180_000);

afterAll(async () => {
  await plane?.stop();
});

describe("kubectl explain on the CRDs", () => {
  it.each(PLURALS)("documents every field of %s", { timeout: 120_000 }, async (plural) => {
    const paths = objectPaths(rootSchema(plural), plural);
    expect(paths.length).toBeGreaterThan(3);
    for (const [path, node] of paths) {
      const explained = await plane?.kubectl(["explain", path]);
      expect(explained, explained?.stderr).toMatchObject({ code: 0 });
      const text = explained?.stdout ?? "";
      expect(text, path).not.toContain("<no description>");
      for (const [name, child] of Object.entries(node.properties ?? {})) {
        // kubectl explain documents these from Kubernetes' own types.
        if (path === plural && STANDARD_FIELDS.includes(name)) continue;
        // kubectl wraps long lines: compare the first words of the description.
        const words = (child.description ?? "").split(/\s+/).slice(0, 3).join(" ");
        expect(words, `${path}.${name}`).not.toBe("");
        expect(text.replace(/\s+/g, " "), `${path}.${name}`).toContain(words);
      }
    }
  });

  it("shows a field's description as the zod schema gives it", async () => {
    const explained = await plane?.kubectl(["explain", "messagedomains.spec.delivery.maxAttempts"]);
    expect(explained?.stdout).toContain(
      "Attempts before a message is dead-lettered with reason max-attempts.",
    );
  });
});
