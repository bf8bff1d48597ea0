import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { sidecarConfigSchema } from "../../core/config.js";
import { agentEndpointSpecSchema, type AgentEndpointSpecInput } from "../../core/crds/agent-endpoint.js";
import { gatewaySpecSchema, type GatewaySpecInput } from "../../core/crds/gateway.js";
import { messageDomainSpecSchema, type MessageDomainSpecInput } from "../../core/crds/message-domain.js";
import {
  agentEndpointSelector,
  buildAgentEndpointChildren,
  injectSidecar,
  sidecarContainer,
} from "../../operator/builders/agent-endpoint.js";
import { BuildError, SIDECAR_CONTAINER_NAME } from "../../operator/builders/common.js";
import { buildGatewayChildren, GATEWAY_ARGS } from "../../operator/builders/gateway.js";
import { removedSubscriptions } from "../../operator/builders/agent-endpoint.js";
import {
  buildDomainConfigMap,
  domainConfigMapName,
  domainSidecarConfig,
  domainStoreEnv,
  SIDECAR_CONFIG_KEY,
} from "../../operator/builders/message-domain.js";
import { findCondition, setCondition, setConditions } from "../../operator/status/conditions.js";
import type { AgentEndpoint, Gateway, MessageDomain, ObjectMeta } from "../../operator/k8s-types.js";

const NAMESPACE = "agents";

function meta(name: string, uid: string): ObjectMeta & { namespace: string; uid: string } {
  return { name, namespace: NAMESPACE, uid, generation: 3 };
}

function domain(spec: MessageDomainSpecInput = {}, name = "team-a"): MessageDomain {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: meta(name, "uid-domain"),
    spec: messageDomainSpecSchema.parse(spec),
  };
}

const redisDomain = domain({
  store: {
    type: "redis",
    connection: { secretRef: { name: "team-a-redis", key: "url" } },
    redis: { keyPrefix: "a:" },
  },
  delivery: { maxAttempts: 8, leaseSeconds: 60, backoff: { baseMs: 500, maxMs: 60_000 } },
  policy: { maxMessageBytes: 2 * 1024 * 1024 },
});

function gateway(spec: Partial<GatewaySpecInput> = {}): Gateway {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: meta("edge", "uid-gateway"),
    spec: gatewaySpecSchema.parse({
      domain: "team-a",
      peers: [
        {
          name: "team-b",
          endpoints: ["https://b.example.com"],
          tokenSecretRef: { name: "b-peer", key: "token" },
        },
      ],
      ...spec,
    }),
  };
}

const userTemplate = {
  metadata: { labels: { team: "a" } },
  spec: {
    containers: [
      { name: "agent", image: "example/agent:1", env: [{ name: "BMN_URL", value: "http://custom:1" }] },
      { name: "helper", image: "example/helper:1" },
    ],
  },
};

function endpoint(spec: Partial<AgentEndpointSpecInput> = {}): AgentEndpoint {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "AgentEndpoint",
    metadata: meta("reviewer", "uid-endpoint"),
    spec: agentEndpointSpecSchema.parse({
      domain: "team-a",
      agent: "code-reviewer",
      template: userTemplate,
      ...spec,
    }),
  };
}

function expectOwnedBy(object: { metadata: ObjectMeta }, kind: string, name: string, uid: string): void {
  expect(object.metadata.namespace).toBe(NAMESPACE);
  expect(object.metadata.ownerReferences).toEqual([
    { apiVersion: "beastmode.network/v1alpha1", kind, name, uid, controller: true, blockOwnerDeletion: true },
  ]);
  expect(object.metadata.labels).toMatchObject({
    "app.kubernetes.io/instance": name,
    "app.kubernetes.io/part-of": "beast-mode-network",
    "app.kubernetes.io/managed-by": "bmn-operator",
  });
}

describe("MessageDomain → ConfigMap", () => {
  it("holds a sidecar config valid against core/config.ts, with the domain's settings", () => {
    const configMap = buildDomainConfigMap(redisDomain);
    expect(configMap.metadata.name).toBe(domainConfigMapName("team-a"));
    expectOwnedBy(configMap, "MessageDomain", "team-a", "uid-domain");
    const text = configMap.data[SIDECAR_CONFIG_KEY];
    expect(text).toBeDefined();
    const config = sidecarConfigSchema.parse(parseYaml(text ?? ""));
    expect(config.domain).toBe("team-a");
    expect(config.store).toEqual({ type: "redis", redis: { keyPrefix: "a:" } });
    expect(config.delivery).toMatchObject({
      maxAttempts: 8,
      leaseMs: 60_000,
      backoffBaseMs: 500,
      backoffMaxMs: 60_000,
    });
    expect(config.limits.maxMessageBytes).toBe(2 * 1024 * 1024);
  });

  it("never inlines the store URL; containers get it as a Secret reference", () => {
    const configMap = buildDomainConfigMap(redisDomain);
    expect(JSON.stringify(configMap)).not.toMatch(/redis:\/\//);
    expect(domainStoreEnv(redisDomain)).toEqual([
      { name: "BMN_CONFIG", value: "/etc/bmn/bmn.yaml" },
      { name: "BMN_REDIS_URL", valueFrom: { secretKeyRef: { name: "team-a-redis", key: "url" } } },
    ]);
    // tidb is the old name of sql: both render the sql store and BMN_SQL_URL.
    for (const type of ["sql", "tidb"] as const) {
      const sql = domain({ store: { type, connection: { secretRef: { name: "db", key: "dsn" } } } });
      expect(domainStoreEnv(sql)[1]).toEqual({
        name: "BMN_SQL_URL",
        valueFrom: { secretKeyRef: { name: "db", key: "dsn" } },
      });
      expect(domainSidecarConfig(sql).store).toEqual({ type: "sql" });
    }
    expect(domainStoreEnv(domain())).toHaveLength(1);
  });

  it("is deterministic and its hash changes with the spec", () => {
    expect(buildDomainConfigMap(redisDomain)).toEqual(buildDomainConfigMap(redisDomain));
    const other = domain({ delivery: { maxAttempts: 9 } });
    expect(buildDomainConfigMap(other).metadata.annotations).not.toEqual(
      buildDomainConfigMap(domain()).metadata.annotations,
    );
  });

  it("refuses a resource name that is not a domain name, naming the field", () => {
    expect(() => buildDomainConfigMap(domain({}, "team.a"))).toThrow(BuildError);
    expect(() => buildDomainConfigMap(domain({}, "team.a"))).toThrow(/metadata\.name/);
  });
});

describe("Gateway → Deployment, Service, PDB, HPA", () => {
  it("builds owned children running bmn gateway, with Secret-held tokens and store URL", () => {
    const children = buildGatewayChildren(gateway(), redisDomain);
    for (const child of [
      children.configMap,
      children.deployment,
      children.service,
      children.podDisruptionBudget,
    ])
      expectOwnedBy(child, "Gateway", "edge", "uid-gateway");
    expect(children.horizontalPodAutoscaler).toBeUndefined();
    const container = children.deployment.spec.template.spec.containers[0];
    expect(container?.command).toBeUndefined(); // the image's entrypoint runs bmn
    expect(container?.args).toEqual(GATEWAY_ARGS);
    expect(container?.args).toEqual(["gateway", "--config", "/etc/bmn/config.json"]);
    expect(children.deployment.spec.template.spec.volumes).toContainEqual({
      name: "bmn-peer-tokens",
      projected: {
        defaultMode: 0o440,
        sources: [{ secret: { name: "b-peer", items: [{ key: "token", path: "team-b/token" }] } }],
      },
    });
    expect(container?.env).toEqual([
      {
        name: "BMN_REDIS_URL",
        valueFrom: { secretKeyRef: { name: "team-a-redis", key: "url" } },
      },
      // 40 % of the default 256Mi limit for V8's old space.
      { name: "NODE_OPTIONS", value: "--max-old-space-size=102" },
    ]);
    expect(children.deployment.spec.replicas).toBe(2);
    expect(children.deployment.spec.selector.matchLabels).toEqual(children.service.spec.selector);
    expect(children.podDisruptionBudget.spec).toEqual({
      selector: children.deployment.spec.selector,
      maxUnavailable: 1,
    });
    expect(children.service.spec.ports[0]).toMatchObject({ port: 7430, targetPort: "gateway" });
    expect(children.configMap.data["config.json"]).toContain('"algorithm": "gzip"');
    expect(JSON.stringify(children)).not.toMatch(/redis:\/\//);
    expect(JSON.parse(children.configMap.data["config.json"] ?? "")).toMatchObject({
      gateway: { peers: [{ domain: "team-b", tokenFile: "/etc/bmn-peer-tokens/team-b/token" }] },
    });
  });

  it("with autoscaling: an autoscaling/v2 CPU HPA on the Deployment, which then has no replica count", () => {
    const children = buildGatewayChildren(
      gateway({ autoscaling: { minReplicas: 2, maxReplicas: 5 } }),
      redisDomain,
    );
    expect(children.deployment.spec.replicas).toBeUndefined();
    expect(children.horizontalPodAutoscaler?.spec).toEqual({
      scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "edge-bmn-gateway" },
      minReplicas: 2,
      maxReplicas: 5,
      metrics: [
        {
          type: "Resource",
          resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 80 } },
        },
      ],
    });
    expectOwnedBy(
      children.horizontalPodAutoscaler ?? { metadata: { name: "" } },
      "Gateway",
      "edge",
      "uid-gateway",
    );
  });

  it("refuses a domain that is not the one the Gateway names", () => {
    expect(() => buildGatewayChildren(gateway(), domain({}, "team-z"))).toThrow(/spec\.domain/);
  });
});

describe("AgentEndpoint → Deployment with the sidecar, Service, HPA", () => {
  it("injects the sidecar: agent API on loopback 7420, probes on 7421, domain config and resource defaults", () => {
    const { deployment } = buildAgentEndpointChildren(endpoint(), redisDomain);
    expectOwnedBy(deployment, "AgentEndpoint", "reviewer", "uid-endpoint");
    const containers = deployment.spec.template.spec.containers;
    expect(containers.map((container) => container.name)).toEqual(["agent", "helper"]);
    // A native sidecar: the first init container, restarted always, so it outlives the agent's containers.
    const initContainers = deployment.spec.template.spec.initContainers ?? [];
    expect(initContainers.map((container) => container.name)).toEqual([SIDECAR_CONTAINER_NAME]);
    const sidecar = initContainers[0];
    expect(sidecar?.restartPolicy).toBe("Always");
    // Only the probe listener is a pod port: the agent API is not reachable from outside the pod.
    expect(sidecar?.ports).toEqual([{ name: "bmn-probe", containerPort: 7421, protocol: "TCP" }]);
    expect(sidecar?.readinessProbe).toMatchObject({ httpGet: { path: "/readyz", port: "bmn-probe" } });
    expect(sidecar?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "bmn-probe" } });
    expect(sidecar?.env).toEqual(
      expect.arrayContaining([
        { name: "BMN_PORT", value: "7420" },
        { name: "BMN_HOST", value: "127.0.0.1" },
        { name: "BMN_PROBE_HOST", value: "0.0.0.0" },
        { name: "BMN_PROBE_PORT", value: "7421" },
      ]),
    );
    expect(deployment.spec.template.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "7421",
      "prometheus.io/path": "/metrics",
    });
    expect(sidecar?.resources).toEqual({
      requests: { cpu: "50m", memory: "64Mi" },
      limits: { memory: "256Mi" },
    });
    // V8's old space sized to the limit (40 % of 256Mi), so the sidecar collects before the kernel kills it.
    expect(sidecar?.env).toContainEqual({ name: "NODE_OPTIONS", value: "--max-old-space-size=102" });
    expect(sidecar?.env).toContainEqual({ name: "BMN_CONFIG", value: "/etc/bmn/bmn.yaml" });
    expect(sidecar?.env).toContainEqual({
      name: "BMN_REDIS_URL",
      valueFrom: { secretKeyRef: { name: "team-a-redis", key: "url" } },
    });
    expect(sidecar?.volumeMounts).toEqual([
      { name: "bmn-domain-config", mountPath: "/etc/bmn", readOnly: true },
    ]);
    expect(deployment.spec.template.spec.volumes).toEqual([
      { name: "bmn-domain-config", configMap: { name: "bmn-domain-team-a" } },
    ]);
  });

  it("keeps the user's pod template: labels merged, app env set only where absent", () => {
    const { deployment } = buildAgentEndpointChildren(endpoint(), redisDomain);
    const template = deployment.spec.template;
    expect(template.metadata?.labels).toMatchObject({ team: "a", ...deployment.spec.selector.matchLabels });
    expect(template.metadata?.annotations?.["beastmode.network/config-hash"]).toMatch(/^[0-9a-f]{16}$/);
    const [agent, helper] = template.spec.containers;
    expect(agent?.env).toEqual([
      { name: "BMN_URL", value: "http://custom:1" },
      { name: "BMN_AGENT", value: "code-reviewer" },
    ]);
    expect(helper?.env).toContainEqual({ name: "BMN_URL", value: "http://127.0.0.1:7420" });
    expect(userTemplate.spec.containers[0]?.env).toHaveLength(1); // the input is not mutated
  });

  it("injection is idempotent: twice equals once, and a template that already has the sidecar gets one", () => {
    const ae = endpoint();
    const injection = {
      sidecar: sidecarContainer(ae, redisDomain),
      volumes: [{ name: "bmn-domain-config", configMap: { name: "bmn-domain-team-a" } }],
      appEnv: [{ name: "BMN_URL", value: "http://127.0.0.1:7420" }],
    };
    const once = injectSidecar(userTemplate, injection);
    expect(injectSidecar(once, injection)).toEqual(once);
    const rebuilt = buildAgentEndpointChildren(
      endpoint({
        template: buildAgentEndpointChildren(ae, redisDomain).deployment.spec.template as unknown as Record<
          string,
          unknown
        >,
      }),
      redisDomain,
    );
    const { spec: podSpec } = rebuilt.deployment.spec.template;
    const names = [...podSpec.containers, ...(podSpec.initContainers ?? [])].map(
      (container) => container.name,
    );
    expect(names.filter((name) => name === SIDECAR_CONTAINER_NAME)).toHaveLength(1);
    // A template with the sidecar in containers (the shape of earlier versions) gets the native one only.
    const legacy = injectSidecar(
      { ...userTemplate, spec: { containers: [...userTemplate.spec.containers, injection.sidecar] } },
      injection,
    );
    expect(legacy).toEqual(once);
    expect(rebuilt.deployment.spec.template.spec.volumes).toHaveLength(1);
    expect(rebuilt.deployment.spec.template).toEqual(
      buildAgentEndpointChildren(ae, redisDomain).deployment.spec.template,
    );
  });

  it("status.selector matches the Deployment's selector", () => {
    const ae = endpoint();
    const { deployment } = buildAgentEndpointChildren(ae, redisDomain);
    const fromString = Object.fromEntries(
      agentEndpointSelector(ae)
        .split(",")
        .map((pair): [string, string] => {
          const [key = "", value = ""] = pair.split("=");
          return [key, value];
        }),
    );
    expect(fromString).toEqual(deployment.spec.selector.matchLabels);
  });

  it("optional Service and an HPA that scales the AgentEndpoint through its scale subresource", () => {
    const plain = buildAgentEndpointChildren(endpoint(), redisDomain);
    expect(plain.service).toBeUndefined();
    expect(plain.horizontalPodAutoscaler).toBeUndefined();
    expect(plain.deployment.spec.replicas).toBe(1);
    const full = buildAgentEndpointChildren(
      endpoint({
        replicas: 3,
        service: { port: 80, targetPort: 8080 },
        autoscaling: { minReplicas: 2, maxReplicas: 9 },
      }),
      redisDomain,
    );
    expect(full.deployment.spec.replicas).toBe(3);
    expect(full.service?.spec.ports).toEqual([{ name: "http", port: 80, targetPort: 8080, protocol: "TCP" }]);
    expect(full.service?.spec.selector).toEqual(full.deployment.spec.selector.matchLabels);
    expect(full.horizontalPodAutoscaler?.spec.scaleTargetRef).toEqual({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "AgentEndpoint",
      name: "reviewer",
    });
    for (const child of [full.service, full.horizontalPodAutoscaler])
      expectOwnedBy(child ?? { metadata: { name: "" } }, "AgentEndpoint", "reviewer", "uid-endpoint");
  });

  it("refuses a template without containers, naming the field", () => {
    expect(() =>
      buildAgentEndpointChildren(endpoint({ template: { spec: { containers: [] } } }), redisDomain),
    ).toThrow(/spec\.template\.spec\.containers/);
    expect(() => buildAgentEndpointChildren(endpoint({ template: { metadata: {} } }), redisDomain)).toThrow(
      /spec\.template\.spec/,
    );
  });
});

describe("conditions", () => {
  const t0 = new Date("2025-01-01T00:00:00.123Z");
  const t1 = new Date("2025-01-01T00:05:00Z");

  it("moves lastTransitionTime only when the status changes", () => {
    const first = setCondition(
      undefined,
      { type: "Ready", status: "False", reason: "Pending", message: "waiting" },
      {
        now: t0,
        observedGeneration: 1,
      },
    );
    expect(first).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "Pending",
        message: "waiting",
        lastTransitionTime: "2025-01-01T00:00:00Z",
        observedGeneration: 1,
      },
    ]);
    const same = setCondition(
      first,
      { type: "Ready", status: "False", reason: "StoreDown", message: "no redis" },
      {
        now: t1,
        observedGeneration: 2,
      },
    );
    expect(findCondition(same, "Ready")).toMatchObject({
      lastTransitionTime: "2025-01-01T00:00:00Z",
      reason: "StoreDown",
      observedGeneration: 2,
    });
    const flipped = setCondition(
      same,
      { type: "Ready", status: "True", reason: "Ready", message: "ok" },
      { now: t1 },
    );
    expect(findCondition(flipped, "Ready")?.lastTransitionTime).toBe("2025-01-01T00:05:00Z");
    expect(first[0]?.reason).toBe("Pending"); // inputs are not mutated
  });

  it("keeps other conditions in place and appends new ones", () => {
    const list = setConditions(
      undefined,
      [
        { type: "Ready", status: "Unknown", reason: "Reconciling", message: "" },
        { type: "Progressing", status: "True", reason: "Creating", message: "" },
      ],
      { now: t0 },
    );
    const updated = setCondition(
      list,
      { type: "Degraded", status: "False", reason: "AsExpected", message: "" },
      { now: t1 },
    );
    expect(updated.map((condition) => condition.type)).toEqual(["Ready", "Progressing", "Degraded"]);
  });
});

describe("removedSubscriptions", () => {
  const deployment = (env: Record<string, string>) => ({
    spec: {
      template: {
        spec: {
          containers: [
            { name: "agent", env: [{ name: "BMN_SUBSCRIPTIONS", value: "not.the.sidecar" }] },
            {
              name: SIDECAR_CONTAINER_NAME,
              env: Object.entries(env).map(([name, value]) => ({ name, value })),
            },
          ],
        },
      },
    },
  });

  it("lists what the sidecar subscribes to or already removes and the spec no longer lists, sorted", () => {
    const current = deployment({ BMN_SUBSCRIPTIONS: "b.*,a.#,keep", BMN_UNSUBSCRIBE: "old" });
    expect(removedSubscriptions(current, ["keep"])).toEqual(["a.#", "b.*", "old"]);
    // A pattern listed again is no longer removed.
    expect(removedSubscriptions(current, ["keep", "old", "a.#", "b.*"])).toEqual([]);
  });

  it("reads the sidecar where the builder puts it now: the first init container (a native sidecar)", () => {
    const { deployment } = buildAgentEndpointChildren(
      endpoint({ subscriptions: ["old.#", "keep"] }),
      redisDomain,
    );
    expect(deployment.spec.template.spec.initContainers?.[0]?.name).toBe(SIDECAR_CONTAINER_NAME);
    expect(removedSubscriptions(deployment, ["keep"])).toEqual(["old.#"]);
  });

  it("is empty without a current Deployment or sidecar", () => {
    expect(removedSubscriptions(undefined, [])).toEqual([]);
    expect(removedSubscriptions({ spec: {} }, ["x"])).toEqual([]);
  });
});

describe("a domain's default TTL and DLQ retention", () => {
  it("reach the sidecar config as delivery.dlqRetentionMs and delivery.defaultTtlMs (nothing without a TTL)", () => {
    expect(domainSidecarConfig(domain({ dlq: { retentionSeconds: 3_600 } })).delivery).toMatchObject({
      dlqRetentionMs: 3_600_000,
    });
    const withTtl = domain({ delivery: { ttlSeconds: 90 } });
    expect(domainSidecarConfig(withTtl).delivery).toMatchObject({ defaultTtlMs: 90_000 });
    expect(sidecarConfigSchema.parse(domainSidecarConfig(withTtl)).delivery.defaultTtlMs).toBe(90_000);
    expect(domainSidecarConfig(domain()).delivery).not.toHaveProperty("defaultTtlMs");
  });
});
