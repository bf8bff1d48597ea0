import { writeFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/config/load-config.js";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { startSidecar } from "../../sidecar/start-sidecar.js";
import { createStore } from "../../store/create-store.js";
import type { MessageStore } from "../../store/store.js";
import { msg, waitFor } from "../conformance/helpers.js";
import {
  operatorTestKit,
  type KubeCondition,
  type KubeEvent,
  type ObjectMetadata,
} from "../harness/operator-test-kit.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";
import { startTopology, type Topology } from "./gateway/gateway-fixture.js";

/**
 * The status a platform engineer reads, on a real kube-apiserver + kube-controller-manager with a real Redis
 * and real gateways: an AgentEndpoint shows its address and its queue (depth, in flight, dead-lettered) as the
 * domain's store holds it; a Gateway shows its peer links as a running gateway reports them (up, then down
 * when the peer stops); `spec.replicas` ignored under autoscaling is said by the `Autoscaled` condition and an
 * Event; and `kubectl get beastmode -o wide` shows it all.
 */
const NAMESPACE = "bmn-operator-status";
const WAIT_MS = 20_000;

interface Obj {
  metadata: ObjectMetadata;
  status?: {
    conditions?: KubeCondition[];
    address?: string;
    queue?: { depth: number; inFlight: number; deadLettered: number };
    peers?: { name: string; state: string; breaker: string; backlog: number }[];
    peersError?: string;
    store?: { reachable?: boolean };
  };
}

let controllers: RunningControllers | undefined;
let redis: RedisServerHandle | undefined;
let topology: Topology | undefined;
let store: MessageStore | undefined;
const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, eventsFor } = kit;

beforeAll(async () => {
  const [kubeConfig] = await Promise.all([
    kit.start(),
    startRedis().then((started) => (redis = started)),
    // Gateways of domains a and b, linked: the operator reads a's links through its admin API.
    startTopology(["a", "b"], [["a", "b"]]).then((started) => (topology = started)),
  ]);
  const gatewayUrl = topology?.node("a").gatewayUrl ?? "";
  controllers = await startControllers(kubeConfig, {
    namespace: NAMESPACE,
    resyncMs: 0,
    notReadyRequeueMs: 250,
    refreshIntervalMs: 250,
    storeProbeIntervalMs: 600_000,
    queue: { baseDelayMs: 100, maxDelayMs: 1_000 },
    onError: kit.onError,
    // No cluster DNS here: the in-process gateway stands for the Gateway's Service.
    gatewayAdminUrl: () => gatewayUrl,
  });
  store = await createStore(
    loadConfig({ domain: "a", store: { type: "redis", redis: { url: redis?.url } } }, {}),
    "test",
  );
  await mustApply({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: "redis" },
    stringData: { url: redis?.url ?? "" },
  });
  await mustApply({
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: { name: "a" },
    spec: {
      store: { type: "redis", connection: { secretRef: { name: "redis", key: "url" } } },
      sidecarImage: "registry.example/bmn:1",
    },
  });
});

afterAll(async () => {
  await controllers?.stop();
  // Redis is stopped by the last test: closing may fail.
  await store?.close().catch(() => undefined);
  await topology?.close();
  await Promise.all([kit.stop(), redis?.cleanup()]);
});

async function untilStatus(
  kind: string,
  name: string,
  accept: (status: NonNullable<Obj["status"]>) => boolean,
): Promise<NonNullable<Obj["status"]>> {
  return await waitFor(
    async () => {
      const status = (await get(kind, name))?.status;
      return status !== undefined && accept(status) ? status : undefined;
    },
    WAIT_MS,
    `${kind} ${name} status`,
  );
}

describe("status that helps users, on a real control plane", () => {
  it("an AgentEndpoint shows its address and its queue in the domain's store", async () => {
    await mustApply({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "AgentEndpoint",
      metadata: { name: "worker" },
      spec: {
        domain: "a",
        agent: "worker",
        template: { spec: { containers: [{ name: "agent", image: "registry.example/worker:1" }] } },
      },
    });
    for (let i = 0; i < 3; i++) await store?.enqueue("worker", msg({ to: "worker@a" }));
    const queued = await untilStatus("ae", "worker", (status) => status.queue?.depth === 3);
    expect(queued.address).toBe("worker@a");
    expect(queued.queue).toEqual({ depth: 3, inFlight: 0, deadLettered: 0 });
    await store?.receive("worker", { max: 1 });
    const leased = await untilStatus("ae", "worker", (status) => status.queue?.inFlight === 1);
    expect(leased.queue).toEqual({ depth: 2, inFlight: 1, deadLettered: 0 });
  });

  it("a Gateway shows its peer links as the running gateway reports them: up, then down", async () => {
    await mustApply({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "tokens" },
      stringData: { b: "a-peer-token-of-enough-length" },
    });
    await mustApply({
      apiVersion: "beastmode.network/v1alpha1",
      kind: "Gateway",
      metadata: { name: "edge" },
      spec: {
        domain: "a",
        replicas: 1,
        peers: [
          {
            name: "b",
            endpoints: ["http://gw.b.example:7430"],
            tokenSecretRef: { name: "tokens", key: "b" },
          },
        ],
      },
    });
    const up = await untilStatus("bgw", "edge", (status) => status.peers?.[0]?.state === "up");
    expect(up.peers).toEqual([{ name: "b", state: "up", breaker: "closed", backlog: 0 }]);
    await topology?.node("b").stopGateway();
    const down = await untilStatus("bgw", "edge", (status) => status.peers?.[0]?.state === "down");
    expect(down.peers?.[0]).toMatchObject({ name: "b", state: "down" });
  });

  it("says spec.replicas is ignored while autoscaling is on (condition and Event)", async () => {
    const before = await untilStatus(
      "ae",
      "worker",
      (status) => status.conditions?.some((c) => c.type === "Autoscaled") === true,
    );
    expect(before.conditions?.find((c) => c.type === "Autoscaled")).toMatchObject({
      status: "False",
      reason: "NotConfigured",
    });
    const patched = await kubectl([
      "patch",
      "-n",
      NAMESPACE,
      "ae",
      "worker",
      "--type=merge",
      "-p",
      JSON.stringify({ spec: { replicas: 4, autoscaling: { minReplicas: 1, maxReplicas: 3 } } }),
    ]);
    expect(patched, patched.stderr).toMatchObject({ code: 0 });
    const after = await untilStatus(
      "ae",
      "worker",
      (status) => status.conditions?.some((c) => c.type === "Autoscaled" && c.status === "True") === true,
    );
    const condition = after.conditions?.find((c) => c.type === "Autoscaled");
    expect(condition).toMatchObject({ reason: "ReplicasIgnored" });
    expect(condition?.message).toContain("spec.replicas (4) does not set the count");
    const event = await waitFor(
      async () => (await eventsFor("worker")).find((e: KubeEvent) => e.reason === "ReplicasIgnored"),
      WAIT_MS,
      "a ReplicasIgnored Event",
    );
    expect(event.type).toBe("Normal");
  });

  it("a pattern dropped from spec.subscriptions reaches the sidecar as BMN_UNSUBSCRIBE, which removes it at start", async () => {
    const sidecarEnv = async (): Promise<Record<string, string>> => {
      const deployment = (await kubectl(["get", "-n", NAMESPACE, "deployment", "worker", "-o", "json"]))
        .stdout;
      interface Container {
        name: string;
        env?: { name: string; value?: string }[];
      }
      const pod = (
        JSON.parse(deployment) as {
          spec: { template: { spec: { containers: Container[]; initContainers?: Container[] } } };
        }
      ).spec.template.spec;
      // The sidecar is a native sidecar: an init container with restartPolicy Always.
      const env = (pod.initContainers ?? []).find((container) => container.name === "bmn-sidecar")?.env ?? [];
      return Object.fromEntries(env.map((entry) => [entry.name, entry.value ?? ""]));
    };
    const subscribe = async (patterns: string[]): Promise<void> => {
      const patched = await kubectl([
        "patch",
        "-n",
        NAMESPACE,
        "ae",
        "worker",
        "--type=merge",
        "-p",
        JSON.stringify({ spec: { subscriptions: patterns } }),
      ]);
      expect(patched, patched.stderr).toMatchObject({ code: 0 });
    };
    await subscribe(["orders.*", "audit.#"]);
    await waitFor(
      async () => (await sidecarEnv()).BMN_SUBSCRIPTIONS === "orders.*,audit.#",
      WAIT_MS,
      "both patterns",
    );
    await subscribe(["orders.*"]);
    const env = await waitFor(
      async () => {
        const current = await sidecarEnv();
        return current.BMN_SUBSCRIPTIONS === "orders.*" ? current : undefined;
      },
      WAIT_MS,
      "one pattern",
    );
    expect(env.BMN_UNSUBSCRIBE).toBe("audit.#");
    // Added back: no longer removed.
    await subscribe(["orders.*", "audit.#"]);
    await waitFor(
      async () => (await sidecarEnv()).BMN_UNSUBSCRIBE === undefined,
      WAIT_MS,
      "no BMN_UNSUBSCRIBE",
    );

    // What the sidecar does with that env, on the domain's real Redis: the dropped pattern goes, the rest stays.
    await store?.subscribe("worker", "audit.#");
    await store?.subscribe("worker", "orders.*");
    const sidecar = await startSidecar(
      loadConfig(
        { port: 0, logLevel: "silent" },
        {
          BMN_STORE: "redis",
          BMN_REDIS_URL: redis?.url ?? "",
          BMN_DOMAIN: "a",
          BMN_AGENT: "worker",
          BMN_SUBSCRIPTIONS: "orders.*",
          BMN_UNSUBSCRIBE: "audit.#",
        },
      ),
      { logger: false },
    );
    try {
      const patterns = (await store?.listSubscriptions("worker"))?.map(
        (subscription) => subscription.pattern,
      );
      expect(patterns).toEqual(["orders.*"]);
    } finally {
      await sidecar.close();
    }
  });

  it("kubectl get beastmode -o wide shows addresses, queues, links and the store", async () => {
    await untilStatus(
      "md",
      "a",
      (status) => status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    );
    const table = await kubectl(["get", "beastmode", "-n", NAMESPACE, "-o", "wide"]);
    expect(table, table.stderr).toMatchObject({ code: 0 });
    expect(table.stdout).toMatch(/QUEUE\s+IN-FLIGHT/);
    expect(table.stdout).toMatch(/PEERS\s+LINKS/);
    expect(table.stdout).toMatch(/ENDPOINT\s+REACHABLE\s+PROBED/);
    expect(table.stdout).toMatch(/agentendpoint\.beastmode\.network\/worker\s+worker\s+a\s/);
    expect(table.stdout).toMatch(/gateway\.beastmode\.network\/edge\s+a\s.*\sb\s+down\s/);
    const endpoint = new URL(redis?.url ?? "redis://x").host;
    const domainRow = table.stdout
      .split("\n")
      .find((line) => line.startsWith("messagedomain.beastmode.network/a "));
    expect(domainRow?.split(/\s+/).slice(0, 6)).toEqual([
      "messagedomain.beastmode.network/a",
      "redis",
      "True",
      "DomainReady",
      endpoint,
      "true",
    ]);
    // For the closing note of issue 14: the table and a describe of each kind, from this run.
    const out = process.env.BMN_OPERATOR_DESCRIBE_OUT;
    if (out !== undefined) {
      const sections = [`$ kubectl get beastmode -o wide\n${table.stdout}`];
      for (const [kind, name] of [
        ["messagedomain", "a"],
        ["bmngateway", "edge"],
        ["agentendpoint", "worker"],
      ] as const) {
        const described = await kubectl(["describe", "-n", NAMESPACE, kind, name]);
        sections.push(`$ kubectl describe ${kind} ${name}\n${described.stdout}`);
      }
      writeFileSync(out, sections.join("\n"));
    }
  });
  it("re-probes the store at once when the domain's data plane loses a ready pod (not only on the interval)", async () => {
    // The probe interval here is far longer than the wait: only the data plane's report can turn the domain.
    await untilStatus(
      "md",
      "a",
      (status) => status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true,
    );
    await redis?.stop();
    // The kubelet would report a sidecar unready (its /readyz includes the store); here the status is patched,
    // and the deployment controller then sets it back: ready 1, then 0.
    const patched = await kubectl([
      "patch",
      "-n",
      NAMESPACE,
      "deployment",
      "worker",
      "--subresource=status",
      "--type=merge",
      "-p",
      JSON.stringify({ status: { readyReplicas: 1 } }),
    ]);
    expect(patched, patched.stderr).toMatchObject({ code: 0 });
    const stale = await untilStatus(
      "md",
      "a",
      (status) =>
        status.conditions?.some((c) => c.type === "Ready" && c.reason === "StoreUnreachable") === true,
    );
    expect(stale.store).toMatchObject({ reachable: false });
  });
});
