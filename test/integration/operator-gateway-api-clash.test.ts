import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { gatewayApiCrdDir } from "../harness/kube-gateway-api.js";
import { operatorTestKit } from "../harness/operator-test-kit.js";

/**
 * BMN's Gateway beside the Kubernetes Gateway API (its real standard CRDs, `sigs.k8s.io/gateway-api`): on a
 * real kube-apiserver with both installed, `kubectl get gateways` and `kubectl get gateway NAME` reach the
 * Gateway API, while BMN's Gateway (kind `Gateway`) answers to `bmngateways`, its short name `bgw` and the
 * category `beastmode`.
 */
const NAMESPACE = "bmn-gateway-api";

interface Listed {
  items: { apiVersion: string; kind: string; metadata: { name: string } }[];
}
interface Single {
  apiVersion: string;
  kind: string;
}

const kit = operatorTestKit<Single>(NAMESPACE);
const { kubectl, mustApply } = kit;

async function getJson<T>(args: readonly string[]): Promise<T> {
  const result = await kubectl(["get", "-n", NAMESPACE, ...args, "-o", "json"]);
  expect(result, result.stderr).toMatchObject({ code: 0 });
  return JSON.parse(result.stdout) as T;
}

beforeAll(async () => {
  const [, crdDir] = await Promise.all([kit.start(), gatewayApiCrdDir()]);
  for (const args of [
    ["apply", "--server-side", "-f", crdDir],
    ["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"],
  ]) {
    const result = await kubectl(args);
    expect(result, result.stderr).toMatchObject({ code: 0 });
  }
  await mustApply({
    apiVersion: "gateway.networking.k8s.io/v1",
    kind: "Gateway",
    metadata: { name: "edge" },
    spec: { gatewayClassName: "example", listeners: [{ name: "http", port: 80, protocol: "HTTP" }] },
  });
  await mustApply({
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: { name: "edge" },
    spec: { domain: "team-a" },
  });
  await mustApply({
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: { name: "bmn-only" },
    spec: { domain: "team-a" },
  });
});

afterAll(async () => {
  await kit.stop();
});

describe("BMN's Gateway beside the Kubernetes Gateway API", () => {
  it("kubectl get gateways lists only the Gateway API's Gateways", async () => {
    const listed = await getJson<Listed>(["gateways"]);
    expect(listed.items.map((item) => [item.apiVersion, item.metadata.name])).toEqual([
      ["gateway.networking.k8s.io/v1", "edge"],
    ]);
  });

  it("kubectl get gateway NAME reaches the Gateway API, and BMN's name only is not found", async () => {
    const one = await getJson<Single>(["gateway", "edge"]);
    expect(one).toMatchObject({ apiVersion: "gateway.networking.k8s.io/v1", kind: "Gateway" });
    const missing = await kubectl(["get", "-n", NAMESPACE, "gateway", "bmn-only"]);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toContain("gateways.gateway.networking.k8s.io");
  });

  it("BMN's Gateways answer to bmngateways, bmngateway, bgw and the beastmode category, kind Gateway", async () => {
    for (const resource of ["bmngateways", "bgw", "bmngateways.beastmode.network"]) {
      const listed = await getJson<Listed>([resource]);
      expect(
        listed.items.map((item) => [item.apiVersion, item.kind, item.metadata.name]),
        resource,
      ).toEqual([
        ["beastmode.network/v1alpha1", "Gateway", "bmn-only"],
        ["beastmode.network/v1alpha1", "Gateway", "edge"],
      ]);
    }
    expect(await getJson<Single>(["bmngateway", "edge"])).toMatchObject({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "Gateway",
    });
    const category = await getJson<Listed>(["beastmode"]);
    expect(category.items.map((item) => `${item.apiVersion} ${item.metadata.name}`).sort()).toEqual([
      "beastmode.network/v1alpha1 bmn-only",
      "beastmode.network/v1alpha1 edge",
    ]);
  });
});
