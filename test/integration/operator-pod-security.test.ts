import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { waitFor } from "../conformance/helpers.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * The pods the operator renders against a real kube-apiserver's PodSecurity admission, in a namespace that
 * enforces "restricted": with no kubelet or scheduler here, each Deployment's pod template is created as a
 * Pod with a server-side dry run, which runs admission. Also the default NetworkPolicies, on and off.
 */
const NAMESPACE = "bmn-restricted";
const WAIT_MS = 20_000;

interface PodTemplate {
  metadata?: { labels?: Record<string, string> };
  spec: {
    containers: { name: string; securityContext?: Record<string, unknown> }[];
    initContainers?: { name: string; securityContext?: Record<string, unknown> }[];
    [key: string]: unknown;
  };
}
interface Obj {
  metadata: ObjectMetadata & { labels?: Record<string, string> };
  spec?: {
    template?: PodTemplate;
    ingress?: { ports: { port: number | string }[] }[];
    podSelector?: { matchLabels?: Record<string, string> };
  };
}

const kit = operatorTestKit<Obj>(NAMESPACE);
const { get, mustApply, admitPod } = kit;
let controllers: RunningControllers | undefined;

const domain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name: "team-a" },
  spec: { sidecarImage: "registry.example/bmn:1" },
};

/** An agent container that itself meets "restricted" (the operator leaves the user's containers alone). */
const restrictedAgent = {
  name: "agent",
  image: "registry.example/agent:1",
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};

const endpoint = (name: string, spec: object = {}): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "AgentEndpoint",
  metadata: { name },
  spec: { domain: "team-a", agent: name, template: { spec: { containers: [restrictedAgent] } }, ...spec },
});

const gateway = {
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
  },
};

async function podTemplateOf(deployment: string): Promise<PodTemplate> {
  const object = await waitFor(() => get("deployment", deployment), WAIT_MS, `the Deployment ${deployment}`);
  const template = object.spec?.template;
  if (template === undefined) throw new Error(`${deployment} has no pod template`);
  return template;
}

beforeAll(async () => {
  const kubeConfig = await kit.start();
  await kit.enforceRestricted();
  controllers = await startControllers(kubeConfig, {
    namespace: NAMESPACE,
    resyncMs: 0,
    queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
    onError: kit.onError,
  });
  await mustApply(domain);
});

afterAll(async () => {
  await controllers?.stop();
  await kit.stop();
});

describe("Pod Security restricted on a real apiserver", () => {
  it("the namespace enforces restricted: a pod whose sidecar keeps its capabilities is refused", async () => {
    await mustApply(endpoint("probe"));
    const template = await podTemplateOf("probe");
    const loosened: PodTemplate = {
      ...template,
      spec: {
        ...template.spec,
        initContainers: (template.spec.initContainers ?? []).map((container) => ({
          ...container,
          securityContext: { ...container.securityContext, capabilities: {} },
        })),
      },
    };
    const refused = await admitPod("loosened", loosened);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("violates PodSecurity");
  });

  it("admits the agent pod with the injected sidecar", async () => {
    await mustApply(endpoint("reviewer"));
    const admitted = await admitPod("reviewer", await podTemplateOf("reviewer"));
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });

  it("admits the agent pod with an agent API token mounted", async () => {
    await mustApply(endpoint("tokened", { sidecar: { apiTokenSecretRef: { name: "api", key: "token" } } }));
    const template = await podTemplateOf("tokened");
    expect(JSON.stringify(template)).toContain("BMN_API_TOKEN_FILE");
    const admitted = await admitPod("tokened", template);
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });

  it("admits the gateway pod", async () => {
    await mustApply(gateway);
    const admitted = await admitPod("edge", await podTemplateOf("edge-bmn-gateway"));
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });

  it("applies a security context override from the CRD to the pods", async () => {
    await mustApply(endpoint("custom", { sidecar: { securityContext: { runAsUser: 4242 } } }));
    const template = await waitFor(
      async () => {
        const candidate = await podTemplateOf("custom");
        const sidecar = candidate.spec.initContainers?.find((container) => container.name === "bmn-sidecar");
        return sidecar?.securityContext?.runAsUser === 4242 ? candidate : undefined;
      },
      WAIT_MS,
      "the sidecar's runAsUser override",
    );
    const admitted = await admitPod("custom", template);
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });
});

describe("default NetworkPolicies on a real apiserver", () => {
  it("the agent pods' policy opens only the probe port; the gateway's only its port", async () => {
    await mustApply(endpoint("reviewer"));
    await mustApply(gateway);
    const agent = await waitFor(() => get("networkpolicy", "reviewer"), WAIT_MS, "the agent NetworkPolicy");
    expect(agent.metadata.ownerReferences).toEqual([expect.objectContaining({ kind: "AgentEndpoint" })]);
    expect(agent.spec?.ingress).toEqual([{ ports: [{ port: 7421, protocol: "TCP" }] }]);
    const edge = await waitFor(
      () => get("networkpolicy", "edge-bmn-gateway"),
      WAIT_MS,
      "the gateway NetworkPolicy",
    );
    expect(edge.spec?.ingress).toEqual([{ ports: [{ port: 7430, protocol: "TCP" }] }]);
  });

  it("is deleted when the resource turns it off, and comes back when it turns it on", async () => {
    await mustApply(endpoint("toggled"));
    await waitFor(() => get("networkpolicy", "toggled"), WAIT_MS, "the NetworkPolicy");
    await mustApply(endpoint("toggled", { networkPolicy: { enabled: false } }));
    await waitFor(
      async () => (await get("networkpolicy", "toggled")) === undefined,
      WAIT_MS,
      "the NetworkPolicy to be deleted",
    );
    await mustApply(endpoint("toggled", { networkPolicy: { enabled: true } }));
    await waitFor(() => get("networkpolicy", "toggled"), WAIT_MS, "the NetworkPolicy again");
  });

  it("the controllers reported no error (watches retried while the apiserver's storage starts are fine)", () => {
    expect(kit.errors.filter((error) => !/HTTP-Code: 429|conflict/i.test(error))).toEqual([]);
  });
});
