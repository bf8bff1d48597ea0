import { describe, expect, it } from "vitest";
import { agentEndpointSpecSchema, type AgentEndpointSpecInput } from "../../core/crds/agent-endpoint.js";
import { gatewaySpecSchema, type GatewaySpecInput } from "../../core/crds/gateway.js";
import { messageDomainSpecSchema } from "../../core/crds/message-domain.js";
import { API_TOKEN_FILE, buildAgentEndpointChildren } from "../../operator/builders/agent-endpoint.js";
import { SIDECAR_CONTAINER_NAME } from "../../operator/builders/common.js";
import { buildGatewayChildren } from "../../operator/builders/gateway.js";
import type { AgentEndpoint, Container, Gateway, MessageDomain } from "../../operator/k8s-types.js";

/**
 * What the pure builders render for Pod Security "restricted", the default NetworkPolicies and the agent API
 * token. test/integration/operator-pod-security.test.ts checks the same objects against a real apiserver.
 */
const NAMESPACE = "agents";
const meta = (name: string, uid: string) => ({ name, namespace: NAMESPACE, uid, generation: 1 });

const domain: MessageDomain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: meta("team-a", "uid-domain"),
  spec: messageDomainSpecSchema.parse({}),
};

function endpoint(spec: Partial<AgentEndpointSpecInput> = {}): AgentEndpoint {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "AgentEndpoint",
    metadata: meta("reviewer", "uid-endpoint"),
    spec: agentEndpointSpecSchema.parse({
      domain: "team-a",
      agent: "reviewer",
      template: { spec: { containers: [{ name: "agent", image: "example/agent:1" }] } },
      ...spec,
    }),
  };
}

function gateway(spec: Partial<GatewaySpecInput> = {}): Gateway {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: meta("edge", "uid-gateway"),
    spec: gatewaySpecSchema.parse({ domain: "team-a", ...spec }),
  };
}

const RESTRICTED_CONTAINER = {
  runAsNonRoot: true,
  allowPrivilegeEscalation: false,
  readOnlyRootFilesystem: true,
  capabilities: { drop: ["ALL"] },
  seccompProfile: { type: "RuntimeDefault" },
};

function sidecarOf(children: ReturnType<typeof buildAgentEndpointChildren>): Container {
  const sidecar = children.deployment.spec.template.spec.initContainers?.find(
    (container) => container.name === SIDECAR_CONTAINER_NAME,
  );
  if (sidecar === undefined) throw new Error("no sidecar");
  return sidecar;
}

describe("Pod Security restricted by default", () => {
  it("the sidecar container and the agent pod are restricted, with no ServiceAccount token", () => {
    const children = buildAgentEndpointChildren(endpoint(), domain);
    expect(sidecarOf(children).securityContext).toMatchObject({ ...RESTRICTED_CONTAINER, runAsUser: 1000 });
    const pod = children.deployment.spec.template.spec;
    expect(pod.securityContext).toEqual({ runAsNonRoot: true, seccompProfile: { type: "RuntimeDefault" } });
    expect(pod.automountServiceAccountToken).toBe(false);
  });

  it("the AgentEndpoint overrides key by key: the template's pod context and token, spec.sidecar.securityContext", () => {
    const children = buildAgentEndpointChildren(
      endpoint({
        template: {
          spec: {
            automountServiceAccountToken: true,
            securityContext: { runAsUser: 2000, fsGroup: 2000 },
            containers: [{ name: "agent", image: "example/agent:1" }],
          },
        },
        sidecar: { securityContext: { runAsUser: 3000, readOnlyRootFilesystem: false } },
      }),
      domain,
    );
    const pod = children.deployment.spec.template.spec;
    expect(pod.securityContext).toEqual({
      runAsNonRoot: true,
      seccompProfile: { type: "RuntimeDefault" },
      runAsUser: 2000,
      fsGroup: 2000,
    });
    expect(pod.automountServiceAccountToken).toBe(true);
    expect(sidecarOf(children).securityContext).toMatchObject({
      ...RESTRICTED_CONTAINER,
      runAsUser: 3000,
      readOnlyRootFilesystem: false,
    });
  });

  it("the gateway container and pod are restricted, with no ServiceAccount token; the Gateway overrides them", () => {
    const pod = buildGatewayChildren(gateway(), domain).deployment.spec.template.spec;
    expect(pod.containers[0]?.securityContext).toMatchObject({ ...RESTRICTED_CONTAINER, runAsUser: 1000 });
    expect(pod.securityContext).toMatchObject({
      runAsNonRoot: true,
      fsGroup: 1000,
      seccompProfile: { type: "RuntimeDefault" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);

    const overridden = buildGatewayChildren(
      gateway({ podSecurityContext: { fsGroup: 4000 }, securityContext: { runAsUser: 4000 } }),
      domain,
    ).deployment.spec.template.spec;
    expect(overridden.securityContext).toMatchObject({ fsGroup: 4000, runAsNonRoot: true });
    expect(overridden.containers[0]?.securityContext).toMatchObject({
      ...RESTRICTED_CONTAINER,
      runAsUser: 4000,
    });
  });
});

describe("default NetworkPolicies", () => {
  it("agent pods: ingress only on the sidecar's probe port, plus the Service's target port when there is one", () => {
    const plain = buildAgentEndpointChildren(endpoint(), domain).networkPolicy;
    expect(plain?.metadata.name).toBe("reviewer");
    expect(plain?.spec).toEqual({
      podSelector: {
        matchLabels: { "app.kubernetes.io/name": "bmn-agent", "app.kubernetes.io/instance": "reviewer" },
      },
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: 7421, protocol: "TCP" }] }],
    });
    const served = buildAgentEndpointChildren(endpoint({ service: { port: 80, targetPort: 8080 } }), domain);
    expect(served.networkPolicy?.spec.ingress).toEqual([
      { ports: [{ port: 7421, protocol: "TCP" }] },
      { ports: [{ port: 8080, protocol: "TCP" }] },
    ]);
    // 7420, the agent API, is never opened: it listens on loopback.
    expect(JSON.stringify(served.networkPolicy)).not.toContain("7420");
  });

  it("gateway pods: ingress only on the gateway's port", () => {
    const policy = buildGatewayChildren(gateway({ port: 7440 }), domain).networkPolicy;
    expect(policy?.spec.podSelector.matchLabels).toEqual({
      "app.kubernetes.io/name": "bmn-gateway",
      "app.kubernetes.io/instance": "edge",
    });
    expect(policy?.spec.ingress).toEqual([{ ports: [{ port: 7440, protocol: "TCP" }] }]);
  });

  it("is left out when the resource opts out or the operator renders none", () => {
    const off = { networkPolicy: { enabled: false } };
    expect(buildAgentEndpointChildren(endpoint(off), domain).networkPolicy).toBeUndefined();
    expect(buildGatewayChildren(gateway(off), domain).networkPolicy).toBeUndefined();
    const options = { networkPolicies: false };
    expect(buildAgentEndpointChildren(endpoint(), domain, options).networkPolicy).toBeUndefined();
    expect(buildGatewayChildren(gateway(), domain, options).networkPolicy).toBeUndefined();
  });
});

describe("the agent API token", () => {
  it("is absent by default", () => {
    const children = buildAgentEndpointChildren(endpoint(), domain);
    expect(JSON.stringify(children.deployment)).not.toContain("BMN_API_TOKEN_FILE");
  });

  it("mounts the named Secret key as a file in the sidecar and the agent's containers, with BMN_API_TOKEN_FILE", () => {
    const children = buildAgentEndpointChildren(
      endpoint({ sidecar: { apiTokenSecretRef: { name: "reviewer-api", key: "token" } } }),
      domain,
    );
    const pod = children.deployment.spec.template.spec;
    expect(pod.volumes).toContainEqual({
      name: "bmn-api-token",
      secret: { secretName: "reviewer-api", items: [{ key: "token", path: "token" }], defaultMode: 0o444 },
    });
    for (const container of [...pod.containers, ...(pod.initContainers ?? [])]) {
      expect(container.env, container.name).toContainEqual({
        name: "BMN_API_TOKEN_FILE",
        value: API_TOKEN_FILE,
      });
      expect(container.volumeMounts, container.name).toContainEqual({
        name: "bmn-api-token",
        mountPath: "/etc/bmn-api-token",
        readOnly: true,
      });
    }
    expect(API_TOKEN_FILE).toBe("/etc/bmn-api-token/token");
    // The token's value never appears in the rendered objects.
    expect(JSON.stringify(children)).not.toMatch(/secretKeyRef.*reviewer-api/);
  });
});
