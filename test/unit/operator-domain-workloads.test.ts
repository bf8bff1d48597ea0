import { describe, expect, it } from "vitest";
import { GATEWAY_TOKEN_PATTERN } from "../../core/config.js";
import { messageDomainSpecSchema, type MessageDomainSpecInput } from "../../core/crds/message-domain.js";
import { SIDECAR_CONTAINER_NAME } from "../../operator/builders/common.js";
import {
  buildConsoleChildren,
  buildConsoleTokenSecret,
  consoleTokenRef,
  enabledConsole,
  newConsoleToken,
} from "../../operator/builders/domain-console.js";
import { buildDomainConfigMap } from "../../operator/builders/message-domain.js";
import { buildLegacyBridgeChildren, declaredLegacyBridge } from "../../operator/builders/legacy-bridge.js";
import type { Container, MessageDomain } from "../../operator/k8s-types.js";
import { conditionEvents } from "../../operator/status/condition-events.js";
import {
  withWorkloadConditions,
  workloadConditions,
  type SecretKeyLookup,
} from "../../operator/status/domain-workload-conditions.js";

/**
 * The pure parts of a MessageDomain's own workloads: the console (spec.console), the legacy bridge
 * (spec.legacyBridge) and their conditions.
 */

const REDIS_STORE = {
  type: "redis",
  connection: { secretRef: { name: "team-a-redis", key: "url" } },
} as const;

function domain(spec: MessageDomainSpecInput = {}): MessageDomain {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: { name: "team-a", namespace: "agents", uid: "uid-domain", generation: 2 },
    spec: messageDomainSpecSchema.parse({ store: REDIS_STORE, ...spec }),
  };
}

const withConsole = (console: object = {}): MessageDomain =>
  domain({ console: { enabled: true, ...console } });

function envOf(container: Container | undefined): Record<string, unknown> {
  return Object.fromEntries((container?.env ?? []).map((env) => [env.name, env.value ?? env.valueFrom]));
}

describe("spec.console → Deployment, Service, NetworkPolicy", () => {
  it("is off by default, and needs a store the console's own sidecar shares (not memory)", () => {
    expect(enabledConsole(domain())).toBeUndefined();
    const memory = messageDomainSpecSchema.safeParse({ console: { enabled: true } });
    expect(memory.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      [
        "console.enabled",
        "needs a redis or sql store: on memory the console's own sidecar would see an empty store",
      ],
    ]);
    expect(messageDomainSpecSchema.safeParse({ console: { enabled: false } }).success).toBe(true);
  });

  it("runs bmn console on the pod IP beside an unbound loopback sidecar of the domain, owned by the domain", () => {
    const md = withConsole({ traceUrl: "http://jaeger:16686/trace/{traceId}" });
    const { deployment, service, networkPolicy } = buildConsoleChildren(md, {}, "hash-1");
    for (const child of [deployment, service, networkPolicy])
      expect(child?.metadata.ownerReferences).toEqual([
        expect.objectContaining({
          kind: "MessageDomain",
          name: "team-a",
          uid: "uid-domain",
          controller: true,
        }),
      ]);
    expect(deployment.metadata.name).toBe("team-a-bmn-console");
    expect(deployment.spec.replicas).toBe(1);
    const pod = deployment.spec.template.spec;
    const [sidecar] = pod.initContainers ?? [];
    expect(sidecar).toMatchObject({ name: SIDECAR_CONTAINER_NAME, args: ["start"], restartPolicy: "Always" });
    expect(sidecar?.startupProbe).toMatchObject({ httpGet: { path: "/healthz", port: "bmn-probe" } });
    const sidecarEnv = envOf(sidecar);
    expect(sidecarEnv).toMatchObject({
      BMN_HOST: "127.0.0.1",
      BMN_PORT: "7420",
      BMN_CONFIG: "/etc/bmn/bmn.yaml",
      BMN_REDIS_URL: { secretKeyRef: { name: "team-a-redis", key: "url" } },
    });
    // Unbound: the console acts on the whole domain, as `bmn` does.
    expect(sidecarEnv).not.toHaveProperty("BMN_AGENT");
    const [console] = pod.containers;
    expect(console?.args).toEqual([
      "console",
      "--host",
      "0.0.0.0",
      "--port",
      "7430",
      "--sidecar",
      "http://127.0.0.1:7420",
      "--token-file",
      "/etc/bmn-console-token/token",
      "--trace-url",
      "http://jaeger:16686/trace/{traceId}",
    ]);
    expect(console?.readinessProbe).toMatchObject({ httpGet: { path: "/login", port: "console" } });
    expect(console?.livenessProbe).toMatchObject({ tcpSocket: { port: "console" } });
    expect(pod.volumes).toContainEqual({
      name: "bmn-console-token",
      secret: {
        secretName: "team-a-bmn-console-token",
        items: [{ key: "token", path: "token" }],
        defaultMode: 0o440,
      },
    });
    expect(pod.volumes).toContainEqual({
      name: "bmn-domain-config",
      configMap: { name: "bmn-domain-team-a" },
    });
    expect(pod.automountServiceAccountToken).toBe(false);
    expect(pod.securityContext).toMatchObject({ runAsNonRoot: true, fsGroup: 1_000 });
    for (const container of [sidecar, console])
      expect(container?.securityContext).toMatchObject({
        runAsNonRoot: true,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        capabilities: { drop: ["ALL"] },
      });
    expect(deployment.spec.template.metadata?.annotations).toMatchObject({
      "beastmode.network/token-hash": "hash-1",
      "beastmode.network/config-hash":
        buildDomainConfigMap(md).metadata.annotations?.["beastmode.network/config-hash"],
    });
    expect(service.spec).toEqual({
      type: "ClusterIP",
      selector: deployment.spec.selector.matchLabels,
      ports: [{ name: "console", port: 7430, targetPort: "console", protocol: "TCP" }],
    });
    expect(networkPolicy?.spec.ingress.map((rule) => rule.ports)).toEqual([
      [{ port: 7430, protocol: "TCP" }],
      [{ port: 7421, protocol: "TCP" }],
    ]);
    expect(buildConsoleChildren(md, { networkPolicies: false }).networkPolicy).toBeUndefined();
  });

  it("mounts the token the user names, and the image falls back from console to domain to operator", () => {
    const ref = { name: "console-auth", key: "bearer" };
    const md = withConsole({ tokenSecretRef: ref, image: "registry.example/bmn:2" });
    expect(consoleTokenRef(md)).toEqual({ ...ref, generated: false });
    const { deployment } = buildConsoleChildren(md);
    expect(deployment.spec.template.spec.volumes).toContainEqual({
      name: "bmn-console-token",
      secret: { secretName: "console-auth", items: [{ key: "bearer", path: "token" }], defaultMode: 0o440 },
    });
    expect(deployment.spec.template.spec.containers[0]?.image).toBe("registry.example/bmn:2");
    const byDomain = buildConsoleChildren(domain({ console: { enabled: true }, sidecarImage: "d:1" }), {
      defaultImage: "o:1",
    });
    expect(byDomain.deployment.spec.template.spec.containers[0]?.image).toBe("d:1");
    expect(
      buildConsoleChildren(withConsole(), { defaultImage: "o:1" }).deployment.spec.template.spec.containers[0]
        ?.image,
    ).toBe("o:1");
  });

  it("generates a random token the console accepts, into a Secret the domain owns", () => {
    expect(consoleTokenRef(withConsole())).toEqual({
      name: "team-a-bmn-console-token",
      key: "token",
      generated: true,
    });
    const token = newConsoleToken();
    expect(token).toMatch(GATEWAY_TOKEN_PATTERN);
    expect(newConsoleToken()).not.toBe(token);
    const secret = buildConsoleTokenSecret(withConsole(), token);
    expect(secret.metadata).toMatchObject({ name: "team-a-bmn-console-token", namespace: "agents" });
    expect(secret.metadata.ownerReferences?.[0]).toMatchObject({ kind: "MessageDomain", uid: "uid-domain" });
    expect(Buffer.from(secret.data.token ?? "", "base64").toString("utf8")).toBe(token);
  });
});

describe("spec.legacyBridge → Deployment, NetworkPolicy", () => {
  const REDIS_REF = { name: "legacy", key: "url" };
  const withBridge = (bridge: object = {}): MessageDomain =>
    domain({ legacyBridge: { redisUrlSecretRef: REDIS_REF, ...bridge } });
  const built = (md: MessageDomain, hash?: string) => {
    const bridge = declaredLegacyBridge(md);
    if (bridge === undefined) throw new Error("no bridge declared");
    return buildLegacyBridgeChildren(md, bridge, {}, hash);
  };

  it("is absent unless declared; needs a shared store and a Secret reference, and checks topic patterns", () => {
    expect(declaredLegacyBridge(domain())).toBeUndefined();
    const issues = (spec: object): string[][] =>
      (messageDomainSpecSchema.safeParse(spec).error?.issues ?? []).map((issue) => [
        issue.path.join("."),
        issue.message,
      ]);
    expect(issues({ legacyBridge: { redisUrlSecretRef: REDIS_REF } })).toEqual([
      [
        "legacyBridge",
        "needs a redis or sql store: on memory the bridge's own sidecar would share it with no agent",
      ],
    ]);
    // An inline URL is refused: only a Secret reference is taken.
    expect(
      issues({ store: REDIS_STORE, legacyBridge: { redisUrl: "redis://x" } }).map(([path]) => path),
    ).toContain("legacyBridge.redisUrlSecretRef");
    expect(
      issues({ store: REDIS_STORE, legacyBridge: { redisUrlSecretRef: REDIS_REF, topics: ["a..b"] } }),
    ).toEqual([
      [
        "legacyBridge.topics.0",
        "must be dot-separated segments of letters, digits, '_' or '-', or the wildcards '*' and '#'",
      ],
    ]);
    expect(declaredLegacyBridge(withBridge())?.topics).toEqual(["beast.#"]);
  });

  it("runs exactly one bmn bridge legacy with Recreate, beside an unbound loopback sidecar, the URL from the Secret", () => {
    const md = withBridge({ topics: ["beast.#", "ops.*"], topicPrefix: "old" });
    const { deployment, networkPolicy } = built(md, "hash-2");
    expect(deployment.metadata).toMatchObject({ name: "team-a-bmn-legacy-bridge", namespace: "agents" });
    for (const child of [deployment, networkPolicy])
      expect(child?.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: "MessageDomain", uid: "uid-domain", controller: true }),
      ]);
    expect(deployment.spec.replicas).toBe(1);
    expect(deployment.spec.strategy).toEqual({ type: "Recreate" });
    const pod = deployment.spec.template.spec;
    expect(pod.initContainers?.[0]).toMatchObject({ name: SIDECAR_CONTAINER_NAME, restartPolicy: "Always" });
    expect(envOf(pod.initContainers?.[0])).not.toHaveProperty("BMN_AGENT");
    const [bridge] = pod.containers;
    expect(bridge?.args).toEqual([
      "bridge",
      "legacy",
      "--host",
      "0.0.0.0",
      "--port",
      "7422",
      "--topic",
      "beast.#",
      "--topic",
      "ops.*",
      "--topic-prefix",
      "old",
    ]);
    expect(envOf(bridge)).toEqual({
      BMN_URL: "http://127.0.0.1:7420",
      BMN_LEGACY_REDIS_URL: { secretKeyRef: REDIS_REF },
      NODE_OPTIONS: "--max-old-space-size=102",
    });
    expect(JSON.stringify(deployment)).not.toContain("redis://");
    expect(bridge?.readinessProbe).toMatchObject({ httpGet: { path: "/readyz", port: "bridge" } });
    expect(bridge?.livenessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "bridge" } });
    expect(bridge?.securityContext).toMatchObject({ runAsNonRoot: true, readOnlyRootFilesystem: true });
    expect(deployment.spec.template.metadata?.annotations).toMatchObject({
      "prometheus.io/port": "7422",
      "beastmode.network/redis-url-hash": "hash-2",
    });
    expect(networkPolicy?.spec.ingress.map((rule) => rule.ports)).toEqual([
      [{ port: 7422, protocol: "TCP" }],
      [{ port: 7421, protocol: "TCP" }],
    ]);
  });
});

describe("a domain workload's condition", () => {
  const ref = { name: "auth", key: "token" };
  const deployment = (ready: number, failure?: string) => ({
    metadata: { generation: 1 },
    status: {
      observedGeneration: 1,
      replicas: 1,
      updatedReplicas: 1,
      readyReplicas: ready,
      conditions:
        failure === undefined
          ? []
          : [{ type: "Progressing", status: "False", reason: failure, message: "stuck" }],
    },
  });
  const state = (lookup: SecretKeyLookup, ready = 1, failure?: string) =>
    workloadConditions({
      type: "ConsoleReady",
      field: "spec.console",
      secret: { ref, field: "spec.console.tokenSecretRef", lookup },
      deployment: deployment(ready, failure),
    });

  it("says NotEnabled when the workload is not asked for", () => {
    expect(workloadConditions({ type: "ConsoleReady", field: "spec.console" })).toEqual({
      updates: [
        {
          type: "ConsoleReady",
          status: "True",
          reason: "NotEnabled",
          message: "spec.console is not enabled",
        },
      ],
      retry: false,
    });
  });

  it("follows the Deployment once the Secret key is there", () => {
    expect(state({ state: "found", value: "x" }).updates).toEqual([
      expect.objectContaining({ type: "ConsoleReady", status: "True", reason: "ReplicasReady" }),
    ]);
    expect(state({ state: "found", value: "x" }, 0).updates).toEqual([
      expect.objectContaining({ type: "ConsoleReady", status: "False", reason: "ReplicasNotReady" }),
    ]);
    expect(state({ state: "found", value: "x" }, 0, "ProgressDeadlineExceeded").updates).toContainEqual(
      expect.objectContaining({ type: "Degraded", status: "True", reason: "ProgressDeadlineExceeded" }),
    );
  });

  it("names the missing Secret or key and the field, turns the domain Degraded, and asks to be retried", () => {
    const missing = state({ state: "secretNotFound" });
    expect(missing.retry).toBe(true);
    expect(missing.updates).toEqual([
      {
        type: "ConsoleReady",
        status: "False",
        reason: "SecretNotFound",
        message: "Secret auth (spec.console.tokenSecretRef) not found; the pod cannot start until it exists",
      },
      expect.objectContaining({ type: "Degraded", status: "True", reason: "SecretNotFound" }),
    ]);
    expect(state({ state: "keyNotFound" }).updates[0]).toMatchObject({ reason: "SecretKeyNotFound" });
    // RBAC: the operator cannot tell; the kubelet can. Unknown, and not Degraded.
    const forbidden = state({ state: "forbidden" });
    expect(forbidden.updates).toEqual([
      expect.objectContaining({ status: "Unknown", reason: "SecretNotReadable" }),
    ]);
  });

  it("adds its Degraded only when the domain is not degraded for its own reasons, so one Warning Event says why", () => {
    const healthy = [{ type: "Degraded", status: "False" as const, reason: "AsExpected", message: "" }];
    const sick = [{ type: "Degraded", status: "True" as const, reason: "StoreUnreachable", message: "down" }];
    const { updates } = state({ state: "secretNotFound" });
    const merged = withWorkloadConditions(healthy, updates);
    expect(merged.filter((update) => update.type === "Degraded").at(-1)).toMatchObject({
      reason: "SecretNotFound",
    });
    expect(conditionEvents(undefined, merged)).toEqual([
      expect.objectContaining({ type: "Warning", reason: "SecretNotFound" }),
    ]);
    expect(withWorkloadConditions(sick, updates).filter((update) => update.type === "Degraded")).toEqual(
      sick,
    );
  });
});
