import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { gatewayConfigSchema, sidecarConfigSchema } from "../../core/config.js";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { GatewayReconciler } from "../../operator/reconcilers/gateway.js";
import { waitFor } from "../conformance/helpers.js";
import { freePort } from "../harness/free-port.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * The Gateway controller on a real kube-apiserver + kube-controller-manager, run by `startControllers` with
 * the other two: children with owner references, status, spec and domain changes followed, an HPA added and
 * removed, drift repaired, idempotence, validation, a missing domain, Events and garbage collection.
 */
const NAMESPACE = "bmn-gateway-test";
const WAIT_MS = 20_000;
const GC_WAIT_MS = 60_000;
const CHILD = "edge-bmn-gateway";

let controllers: RunningControllers | undefined;

const BMN = fileURLToPath(new URL("../../cli/bin/bmn.js", import.meta.url));

interface Container {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  env?: { name: string; valueFrom?: unknown }[];
  volumeMounts?: { name: string; mountPath: string; readOnly?: boolean }[];
  readinessProbe?: { httpGet?: { path: string; port: string | number } };
}
interface Obj {
  metadata: ObjectMetadata;
  spec?: {
    replicas?: number;
    template?: { spec: { containers: Container[]; volumes?: { name: string; [key: string]: unknown }[] } };
    maxUnavailable?: number;
    metrics?: { type: string }[];
    maxReplicas?: number;
  };
  data?: Record<string, string>;
  status?: {
    observedGeneration?: number;
    replicas?: number;
    conditions?: { type: string; status: string; reason: string; observedGeneration?: number }[];
  };
}

const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, eventsFor, errors } = kit;

const domain = (image: string): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name: "team-a" },
  spec: { sidecarImage: image, routing: { crossDomain: true }, policy: { allowedSourceDomains: ["team-b"] } },
});

const gateway = (name: string, spec: object = {}): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "Gateway",
  metadata: { name },
  spec: {
    domain: "team-a",
    replicas: 2,
    peers: [
      {
        name: "team-b",
        endpoints: ["https://gw.team-b.example:7430"],
        tokenSecretRef: { name: "peer-tokens", key: "team-b" },
      },
    ],
    ...spec,
  },
});

const CHILD_KINDS = ["deployment", "service", "poddisruptionbudget", "configmap", "networkpolicy"] as const;

beforeAll(async () => {
  controllers = await startControllers(await kit.start(), {
    namespace: NAMESPACE,
    resyncMs: 0,
    queueDepthMetric: { type: "External", targetAverageValue: "100" },
    queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
    onError: kit.onError,
  });
  // The peers' token Secret (a missing one is reported on the Gateway: operator-gateway-settings.test.ts).
  await mustApply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "peer-tokens" },
    stringData: { "team-b": "a-peer-token-of-enough-length" },
  });
});

afterAll(async () => {
  await controllers?.stop();
  await kit.stop();
});

describe("Gateway controller on a real control plane", () => {
  it("creates a gateway that is deleted right away (garbage collection is checked last)", async () => {
    await mustApply(domain("registry.example/bmn:1"));
    await mustApply(gateway("gone"));
    await waitFor(() => get("deployment", "gone-bmn-gateway"), WAIT_MS, "the Deployment");
    // The garbage collector rediscovers resources every 30 s and may not watch the CRDs yet.
    const deleted = await kubectl(["delete", "-n", NAMESPACE, "bmngateway", "gone", "--wait=false"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
  });

  it("creates Deployment, Service, PodDisruptionBudget, ConfigMap and NetworkPolicy with owner references, and status", async () => {
    await mustApply(gateway("edge"));
    const gw = await waitFor(() => get("bmngateway", "edge"), WAIT_MS, "the Gateway");
    for (const kind of CHILD_KINDS) {
      const child = await waitFor(() => get(kind, CHILD), WAIT_MS, `the ${kind}`);
      expect(child.metadata.ownerReferences, kind).toEqual([
        expect.objectContaining({ kind: "Gateway", name: "edge", uid: gw.metadata.uid, controller: true }),
      ]);
    }
    const deployment = await get("deployment", CHILD);
    expect(deployment?.spec?.replicas).toBe(2);
    const container = deployment?.spec?.template?.spec.containers[0];
    expect(container?.image).toBe("registry.example/bmn:1");
    expect((await get("poddisruptionbudget", CHILD))?.spec?.maxUnavailable).toBe(1);
    expect(await get("horizontalpodautoscaler", CHILD)).toBeUndefined();

    const withStatus = await waitFor(
      async () => {
        const current = await get("bmngateway", "edge");
        return current?.status?.observedGeneration === current?.metadata.generation &&
          current?.status?.replicas === 2
          ? current
          : undefined;
      },
      WAIT_MS,
      "the Gateway status",
    );
    expect(withStatus.status?.conditions?.map((c) => c.type).sort()).toEqual([
      "Autoscaled",
      "Degraded",
      "PeerSecretsResolved",
      "Progressing",
      "Ready",
      "TLSSecretsResolved",
    ]);
    // No kubelet here: the pods never become ready.
    expect(withStatus.status?.conditions).toContainEqual(
      expect.objectContaining({
        type: "Ready",
        status: "False",
        observedGeneration: withStatus.metadata.generation,
      }),
    );
    const created = (await eventsFor("edge")).filter((e) => e.reason === "Created").map((e) => e.message);
    expect(created.sort()).toEqual([
      `created ConfigMap ${CHILD}`,
      `created Deployment ${CHILD}`,
      `created NetworkPolicy ${CHILD}`,
      `created PodDisruptionBudget ${CHILD}`,
      `created Service ${CHILD}`,
    ]);
  });

  it("lists the domain's gateways in the domain ConfigMap, so sidecars' /v1/topology can ask them", async () => {
    const edgeUrl = `http://${CHILD}.${NAMESPACE}.svc:7430`;
    const routingOf = (configMap: Obj | undefined): { gateways?: string[] } | undefined =>
      (parseYaml(configMap?.data?.["bmn.yaml"] ?? "") as { routing?: { gateways?: string[] } } | null)
        ?.routing;
    // "gone" was deleted in the first test; only "edge" serves team-a now.
    await waitFor(
      async () => {
        const gateways = routingOf(await get("configmap", "bmn-domain-team-a"))?.gateways;
        return gateways?.length === 1 && gateways[0] === edgeUrl ? gateways : undefined;
      },
      WAIT_MS,
      "the domain ConfigMap to list the edge gateway",
    );
    await mustApply(gateway("edge-2"));
    const both = await waitFor(
      async () => {
        const gateways = routingOf(await get("configmap", "bmn-domain-team-a"))?.gateways;
        return gateways?.length === 2 ? gateways : undefined;
      },
      WAIT_MS,
      "the domain ConfigMap to list both gateways",
    );
    // Sorted, so the ConfigMap changes only when the set does.
    expect(both).toEqual([`http://edge-2-bmn-gateway.${NAMESPACE}.svc:7430`, edgeUrl]);
    const deleted = await kubectl(["delete", "-n", NAMESPACE, "bmngateway", "edge-2", "--wait=false"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    await waitFor(
      async () => {
        const gateways = routingOf(await get("configmap", "bmn-domain-team-a"))?.gateways;
        return gateways?.length === 1 && gateways[0] === edgeUrl ? gateways : undefined;
      },
      WAIT_MS,
      "the domain ConfigMap to drop the deleted gateway",
    );
  });

  it("renders the gateway's config into its ConfigMap, projects the peer token and runs bmn gateway --config", async () => {
    const configMap = await waitFor(() => get("configmap", CHILD), WAIT_MS, "the ConfigMap");
    expect(Object.keys(configMap.data ?? {})).toEqual(["config.json"]);
    const rendered = sidecarConfigSchema.parse(JSON.parse(configMap.data?.["config.json"] ?? ""));
    expect(rendered).toMatchObject({
      domain: "team-a",
      store: { type: "memory" },
      routing: { crossDomain: true },
    });
    const section = gatewayConfigSchema.parse(rendered.gateway);
    expect(section).toMatchObject({
      host: "0.0.0.0",
      port: 7430,
      peers: [
        {
          domain: "team-b",
          endpoints: ["https://gw.team-b.example:7430"],
          tokenFile: "/etc/bmn-peer-tokens/team-b/token",
        },
      ],
      compression: { algorithm: "gzip" },
      policy: { allowedSourceDomains: ["team-b"] },
    });
    expect(section.peers[0]?.token).toBeUndefined();
    // The domain's sidecars accept name@team-b into the outbox this gateway forwards.
    const domainConfig = await waitFor(
      () => get("configmap", "bmn-domain-team-a"),
      WAIT_MS,
      "the domain ConfigMap",
    );
    expect(sidecarConfigSchema.parse(parseYaml(domainConfig.data?.["bmn.yaml"] ?? "")).routing).toEqual({
      crossDomain: true,
      gateways: [`http://${CHILD}.${NAMESPACE}.svc:7430`],
    });

    const deployment = await get("deployment", CHILD);
    const pod = deployment?.spec?.template?.spec;
    const container = pod?.containers[0];
    expect(container?.command).toBeUndefined(); // the image's entrypoint is bmn
    expect(container?.args).toEqual(["gateway", "--config", "/etc/bmn/config.json"]);
    // A memory store: no Secret env; only V8's old space, sized to the default 256Mi limit.
    expect(container?.env ?? []).toEqual([{ name: "NODE_OPTIONS", value: "--max-old-space-size=102" }]);
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: "/healthz", port: "gateway" });
    expect(container?.volumeMounts).toEqual([
      { name: "bmn-gateway-config", mountPath: "/etc/bmn", readOnly: true },
      { name: "bmn-peer-tokens", mountPath: "/etc/bmn-peer-tokens", readOnly: true },
    ]);
    expect(pod?.volumes).toEqual([
      { name: "bmn-gateway-config", configMap: { name: CHILD, defaultMode: 0o644 } },
      {
        name: "bmn-peer-tokens",
        projected: {
          defaultMode: 0o440,
          sources: [{ secret: { name: "peer-tokens", items: [{ key: "team-b", path: "team-b/token" }] } }],
        },
      },
    ]);
    const service = await get("service", CHILD);
    expect(service?.spec).toMatchObject({ ports: [{ name: "gateway", port: 7430, targetPort: "gateway" }] });

    // The same file and arguments, with the in-cluster paths replaced by temp files, run a real gateway.
    const dir = await mkdtemp(join(tmpdir(), "bmn-op-gw-"));
    try {
      const tokenFile = join(dir, "team-b-token");
      await writeFile(tokenFile, "shared-token-of-a-and-b\n"); // as `kubectl create secret --from-file` keeps it
      const port = await freePort();
      const configFile = join(dir, "config.json");
      const local = JSON.parse(configMap.data?.["config.json"] ?? "") as {
        logLevel?: string;
        gateway: { host: string; port: number; peers: { tokenFile: string }[] };
      };
      local.gateway.host = "127.0.0.1";
      local.gateway.port = port;
      for (const peer of local.gateway.peers) peer.tokenFile = tokenFile;
      local.logLevel = "silent";
      await writeFile(configFile, JSON.stringify(local));
      const args = (container?.args ?? []).map((arg) => (arg === "/etc/bmn/config.json" ? configFile : arg));
      const child = spawn(process.execPath, [BMN, ...args], { stdio: ["ignore", "pipe", "pipe"] });
      const exited = new Promise<number | null>((resolve) => child.on("exit", resolve));
      try {
        const listening = await new Promise<string>((resolve, reject) => {
          let stdout = "";
          let stderr = "";
          child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString("utf8")));
          child.stdout.on("data", (chunk: Buffer) => {
            stdout += chunk.toString("utf8");
            const line = stdout.split("\n").find((candidate) => candidate.includes("listening on"));
            if (line !== undefined) resolve(line);
          });
          child.on("exit", (code) => {
            reject(new Error(`bmn gateway exited with ${String(code)}: ${stderr}`));
          });
        });
        expect(listening).toBe(`bmn gateway team-a listening on http://127.0.0.1:${String(port)}`);
        const base = `http://127.0.0.1:${String(port)}`;
        expect((await fetch(`${base}/healthz`)).status).toBe(200);
        // The token was read from the file (its newline dropped): team-b is let in with it, and only with it.
        const routes = (token: string): Promise<Response> =>
          fetch(`${base}/v1/gateway/routes`, {
            headers: { authorization: `Bearer ${token}`, "bmn-source-domain": "team-b" },
          });
        expect((await routes("shared-token-of-a-and-b")).status).toBe(200);
        expect((await routes("shared-token-of-a-and-c")).status).toBe(401);
      } finally {
        child.kill("SIGTERM");
        expect(await exited).toBe(0);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("adds an HPA on CPU and queue depth when autoscaling is asked for, and deletes it when not", async () => {
    await mustApply(gateway("edge", { autoscaling: { minReplicas: 2, maxReplicas: 6 } }));
    const hpa = await waitFor(() => get("horizontalpodautoscaler", CHILD), WAIT_MS, "the HPA");
    expect(hpa.metadata.ownerReferences?.[0]?.kind).toBe("Gateway");
    expect(hpa.spec?.maxReplicas).toBe(6);
    expect(hpa.spec?.metrics?.map((m) => m.type)).toEqual(["Resource", "External"]);

    await mustApply(gateway("edge", { replicas: 3 }));
    await waitFor(
      async () => (await get("horizontalpodautoscaler", CHILD)) === undefined,
      WAIT_MS,
      "the HPA to be deleted",
    );
    await waitFor(
      async () => (await get("deployment", CHILD))?.spec?.replicas === 3,
      WAIT_MS,
      "the Deployment to get 3 replicas",
    );
    expect((await eventsFor("edge")).map((e) => e.message)).toContain(
      `deleted HorizontalPodAutoscaler ${CHILD}`,
    );
  });

  it("follows a change of its MessageDomain", async () => {
    await mustApply(domain("registry.example/bmn:2"));
    await waitFor(
      async () =>
        (await get("deployment", CHILD))?.spec?.template?.spec.containers[0]?.image ===
        "registry.example/bmn:2",
      WAIT_MS,
      "the Deployment to take the domain's new image",
    );
  });

  it("brings back children deleted by hand", async () => {
    for (const kind of ["deployment", "service"] as const) {
      const before = await get(kind, CHILD);
      const deleted = await kubectl(["delete", "-n", NAMESPACE, kind, CHILD, "--wait=false"]);
      expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
      await waitFor(
        async () => {
          const child = await get(kind, CHILD);
          return child !== undefined && child.metadata.uid !== before?.metadata.uid;
        },
        WAIT_MS,
        `the ${kind} to be recreated`,
      );
    }
  });

  it("writes nothing when reconciled twice", async () => {
    const kubeConfig = kit.kubeConfig();
    await kit.untilDeploymentSettled(CHILD, "bmngateway", "edge", 3, WAIT_MS);
    const reconciler = new GatewayReconciler(kubeConfig);
    await reconciler.reconcile(NAMESPACE, "edge");
    const versions = async (): Promise<(string | undefined)[]> =>
      Promise.all(
        [...CHILD_KINDS.map((kind) => get(kind, CHILD)), get("bmngateway", "edge")].map(
          async (object) => (await object)?.metadata.resourceVersion,
        ),
      );
    const before = await versions();
    const eventsBefore = (await eventsFor("edge")).length;
    // Asked again after the refresh interval: Secrets and peer links change without watch events.
    expect(await reconciler.reconcile(NAMESPACE, "edge")).toEqual({
      found: true,
      statusWritten: false,
      requeueAfterMs: 30_000,
    });
    expect(await versions()).toEqual(before);
    expect(await eventsFor("edge")).toHaveLength(eventsBefore);
  });

  it("is refused by the apiserver when minReplicas exceeds maxReplicas, naming the field", async () => {
    const result = await kubectl(
      ["apply", "-n", NAMESPACE, "-f", "-"],
      JSON.stringify(gateway("bad", { autoscaling: { minReplicas: 5, maxReplicas: 2 } })),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("spec.autoscaling.minReplicas");
  });

  it("reports a missing domain with a condition and one Warning event", async () => {
    await mustApply(gateway("stray", { domain: "nowhere" }));
    const stray = await waitFor(
      async () => {
        const gw = await get("bmngateway", "stray");
        return gw?.status?.conditions?.some((c) => c.reason === "DomainNotFound") === true ? gw : undefined;
      },
      WAIT_MS,
      "the DomainNotFound condition",
    );
    expect(stray.status?.conditions).toContainEqual(
      expect.objectContaining({ type: "Degraded", status: "True", reason: "DomainNotFound" }),
    );
    expect(await get("deployment", "stray-bmn-gateway")).toBeUndefined();
    const kubeConfig = kit.kubeConfig();
    await new GatewayReconciler(kubeConfig).reconcile(NAMESPACE, "stray");
    const warnings = (await eventsFor("stray")).filter((e) => e.reason === "DomainNotFound");
    expect(warnings).toEqual([expect.objectContaining({ type: "Warning" })]);
  });

  it(
    "leaves the children to garbage collection when the Gateway is deleted",
    { timeout: 90_000 },
    async () => {
      await waitFor(
        async () => {
          const left = await Promise.all(CHILD_KINDS.map((kind) => get(kind, "gone-bmn-gateway")));
          return left.every((child) => child === undefined);
        },
        GC_WAIT_MS,
        "the garbage collector to delete the children",
      );
      expect(errors.filter((e) => !/HTTP-Code: 429|conflict/i.test(e))).toEqual([]);
    },
  );
});
