import { describe, expect, it } from "vitest";
import { agentEndpointSpecSchema, type AgentEndpointSpecInput } from "../../core/crds/agent-endpoint.js";
import { gatewaySpecSchema, type GatewaySpecInput } from "../../core/crds/gateway.js";
import { messageDomainSpecSchema } from "../../core/crds/message-domain.js";
import { buildAgentEndpointChildren } from "../../operator/builders/agent-endpoint.js";
import { buildGatewayChildren } from "../../operator/builders/gateway.js";
import { parseEqualitySelector } from "../../operator/external-metrics/external-metrics-server.js";
import type { AgentEndpoint, Gateway, MessageDomain } from "../../operator/k8s-types.js";

// spec.autoscaling.metric: which metrics the HPA the operator writes scales on (docs/autoscaling.md).

const meta = (name: string) => ({ name, namespace: "agents", uid: `uid-${name}`, generation: 1 });

const domain: MessageDomain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: meta("team-a"),
  spec: messageDomainSpecSchema.parse({
    store: { type: "redis", connection: { secretRef: { name: "redis", key: "url" } } },
  }),
};

function endpoint(autoscaling: AgentEndpointSpecInput["autoscaling"]): AgentEndpoint {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "AgentEndpoint",
    metadata: meta("reviewer"),
    spec: agentEndpointSpecSchema.parse({
      domain: "team-a",
      agent: "code-reviewer",
      template: { spec: { containers: [{ name: "agent", image: "example/agent:1" }] } },
      autoscaling,
    }),
  };
}

function gateway(autoscaling: GatewaySpecInput["autoscaling"]): Gateway {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: meta("edge"),
    spec: gatewaySpecSchema.parse({ domain: "team-a", autoscaling }),
  };
}

const queueDepthMetric = {
  type: "External",
  external: {
    metric: {
      name: "bmn_queue_ready_depth",
      selector: {
        matchLabels: { "beastmode.network/domain": "team-a", "beastmode.network/agent": "code-reviewer" },
      },
    },
    target: { type: "AverageValue", averageValue: "50" },
  },
};
const cpuMetric = {
  type: "Resource",
  resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
};

describe("the HPA an AgentEndpoint's spec.autoscaling gives", () => {
  it("scales on CPU by default, as before", () => {
    const hpa = buildAgentEndpointChildren(endpoint({ maxReplicas: 5 }), domain).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([cpuMetric]);
    expect(hpa?.spec.behavior).toBeUndefined();
  });

  it("scales on the agent queue's ready depth per replica, an External metric selected by domain and agent", () => {
    const hpa = buildAgentEndpointChildren(
      endpoint({ maxReplicas: 5, metric: "queueDepth", targetQueueDepthPerReplica: 50 }),
      domain,
    ).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([queueDepthMetric]);
  });

  it("with both, lists CPU and queue depth (the HPA takes the larger count); stabilisation becomes behavior", () => {
    const hpa = buildAgentEndpointChildren(
      endpoint({
        maxReplicas: 5,
        metric: "both",
        targetQueueDepthPerReplica: 50,
        scaleDownStabilizationSeconds: 30,
      }),
      domain,
    ).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([cpuMetric, queueDepthMetric]);
    expect(hpa?.spec.behavior).toEqual({ scaleDown: { stabilizationWindowSeconds: 30 } });
  });

  it("with targetOldestAgeSeconds, adds the queue's oldest age as an External Value (not per replica)", () => {
    const hpa = buildAgentEndpointChildren(
      endpoint({
        maxReplicas: 5,
        metric: "queueDepth",
        targetQueueDepthPerReplica: 50,
        targetOldestAgeSeconds: 30,
      }),
      domain,
    ).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([
      queueDepthMetric,
      {
        type: "External",
        external: {
          metric: {
            name: "bmn_queue_oldest_age_seconds",
            selector: queueDepthMetric.external.metric.selector,
          },
          target: { type: "Value", value: "30" },
        },
      },
    ]);
  });

  it("refuses an unknown metric and a zero target", () => {
    expect(() => endpoint({ maxReplicas: 5, metric: "memory" as "cpu" })).toThrow();
    expect(() => endpoint({ maxReplicas: 5, targetQueueDepthPerReplica: 0 })).toThrow();
    expect(() => endpoint({ maxReplicas: 5, targetOldestAgeSeconds: 0 })).toThrow();
  });
});

describe("the HPA a Gateway's spec.autoscaling gives", () => {
  it("scales on CPU and the domain's outbox oldest age when only targetOldestAgeSeconds is added", () => {
    const hpa = buildGatewayChildren(
      gateway({ maxReplicas: 4, targetOldestAgeSeconds: 10 }),
      domain,
    ).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([
      cpuMetric,
      {
        type: "External",
        external: {
          metric: {
            name: "bmn_outbox_oldest_age_seconds",
            selector: { matchLabels: { "beastmode.network/domain": "team-a" } },
          },
          target: { type: "Value", value: "10" },
        },
      },
    ]);
  });

  it("scales on the domain's outbox depth per replica", () => {
    const hpa = buildGatewayChildren(
      gateway({ maxReplicas: 4, metric: "queueDepth" }),
      domain,
    ).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics).toEqual([
      {
        type: "External",
        external: {
          metric: {
            name: "bmn_outbox_ready_depth",
            selector: { matchLabels: { "beastmode.network/domain": "team-a" } },
          },
          target: { type: "AverageValue", averageValue: "100" },
        },
      },
    ]);
  });
});

describe("the external metrics API's label selectors", () => {
  it("reads equality terms", () => {
    expect(parseEqualitySelector("beastmode.network/domain=a,beastmode.network/agent==b")).toEqual({
      "beastmode.network/domain": "a",
      "beastmode.network/agent": "b",
    });
    expect(parseEqualitySelector("")).toEqual({});
  });

  it("refuses set-based and inequality terms and bad keys, naming the term", () => {
    for (const selector of ["a!=b", "a in (b)", "=b", "a=b=c", "bad key=x"]) {
      expect(parseEqualitySelector(selector)).toMatch(/labelSelector term/);
    }
    expect(parseEqualitySelector("a=".padEnd(2_000, "b"))).toMatch(/longer than/);
  });
});
