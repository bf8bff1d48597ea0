import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { until } from "../../test/harness/poll-until.js";
import { IMAGE_REFERENCES } from "../../test/tools/image/image-specs.js";
import {
  agentCounts,
  OPERATOR_NAMESPACE,
  podsClusterUnavailable,
  podsOf,
  startPodsCluster,
  untilPodsReady,
  type PodsCluster,
  type PodSummary,
} from "./pods-cluster.js";
import {
  describeRedeliveries,
  explainRedeliveries,
  readTraces,
  type RedeliveryReport,
} from "./redeliveries.js";

/**
 * BMN on real pods: the chart's operator (2 replicas, leader election, probes) on a real kubelet node, a
 * MessageDomain on Redis running in the cluster, and AgentEndpoints whose agent containers (e2e/pods/test-agent.ts)
 * talk to their own pod's sidecar at 127.0.0.1:7420. Every count is checked; faults lose nothing.
 */

const NS = "e2e";
const DOMAIN = "pods";
const REDIS_IP = "10.96.0.60";
const OPERATOR_SELECTOR = "app.kubernetes.io/instance=bmn";

const RESTRICTED = `securityContext:
            runAsNonRoot: true
            allowPrivilegeEscalation: false
            capabilities: { drop: [ALL] }
            seccompProfile: { type: RuntimeDefault }`;

const CROSS_DOMAINS = ["team-a", "team-b"] as const;

const NAMESPACE = [NS, ...CROSS_DOMAINS]
  .map(
    (name) => `apiVersion: v1
kind: Namespace
metadata:
  name: ${name}
  labels: { pod-security.kubernetes.io/enforce: restricted }
`,
  )
  .join("---\n");

/** Redis (appendfsync always) behind a fixed ClusterIP, the Secret with its URL, and a MessageDomain on it. */
function domainOnRedis(namespace: string, domain: string, redisIp: string, domainSpec = ""): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata: { name: redis, namespace: ${namespace} }
spec:
  replicas: 1
  selector: { matchLabels: { app: redis } }
  template:
    metadata: { labels: { app: redis } }
    spec:
      automountServiceAccountToken: false
      containers:
        - name: redis
          image: ${IMAGE_REFERENCES.redis}
          imagePullPolicy: Never
          args: ["--port", "6379", "--appendonly", "yes", "--appendfsync", "always", "--protected-mode", "no"]
          ports: [{ name: redis, containerPort: 6379 }]
          readinessProbe: { tcpSocket: { port: redis }, periodSeconds: 1 }
          ${RESTRICTED}
---
apiVersion: v1
kind: Service
metadata: { name: redis, namespace: ${namespace} }
spec:
  clusterIP: ${redisIp}
  selector: { app: redis }
  ports: [{ name: redis, port: 6379, targetPort: redis }]
---
apiVersion: v1
kind: Secret
metadata: { name: redis-url, namespace: ${namespace} }
stringData: { url: "redis://${redisIp}:6379" }
---
apiVersion: beastmode.network/v1alpha1
kind: MessageDomain
metadata: { name: ${domain}, namespace: ${namespace} }
spec:
  store:
    type: redis
    connection: { secretRef: { name: redis-url, key: url } }${domainSpec}
`;
}

const BASE = domainOnRedis(NS, DOMAIN, REDIS_IP);

function agentEndpoint(
  agent: string,
  env: Record<string, string>,
  replicas = 1,
  extraSpec = "",
  where: { namespace: string; domain: string } = { namespace: NS, domain: DOMAIN },
): string {
  const envYaml = Object.entries({ AGENT: agent, ...env })
    .map(([name, value]) => `\n            - { name: ${name}, value: "${value}" }`)
    .join("");
  return `apiVersion: beastmode.network/v1alpha1
kind: AgentEndpoint
metadata: { name: ${agent}, namespace: ${where.namespace} }
spec:
  domain: ${where.domain}
  agent: ${agent}
  replicas: ${replicas}${extraSpec}
  template:
    spec:
      containers:
        - name: agent
          image: ${IMAGE_REFERENCES.testAgent}
          imagePullPolicy: Never
          env:${envYaml}
          ${RESTRICTED}
`;
}

describe.skipIf(podsClusterUnavailable() !== undefined)("BMN on real pods", () => {
  let cluster: PodsCluster;

  beforeAll(async () => {
    cluster = await startPodsCluster({ secretNamespaces: [NS, ...CROSS_DOMAINS], preinstall: NAMESPACE });
    await cluster.apply(BASE);
    await untilPodsReady(cluster, NS, "app=redis", 1);
  }, 400_000);

  afterAll(async () => {
    // undefined when beforeAll failed
    await (cluster as PodsCluster | undefined)?.stop();
  }, 120_000);

  async function leaseHolder(): Promise<string | undefined> {
    const lease = await cluster.getJson<{ spec?: { holderIdentity?: string } }>([
      "lease",
      "bmn-operator",
      "-n",
      OPERATOR_NAMESPACE,
    ]);
    const holder = lease?.spec?.holderIdentity;
    return holder === undefined || holder === "" ? undefined : holder.replace(/_\d+$/, "");
  }

  /** The conditions of the MessageDomain under test, once all of `types` are True; else undefined. */
  async function domainConditionsTrue(
    ...types: string[]
  ): Promise<{ type: string; status: string }[] | undefined> {
    const md = await cluster.getJson<{
      status?: { conditions?: { type: string; status: string; reason?: string }[] };
    }>(["messagedomain", DOMAIN, "-n", NS]);
    const conditions = md?.status?.conditions;
    return types.every((type) => conditions?.some((c) => c.type === type && c.status === "True"))
      ? conditions
      : undefined;
  }

  it("runs the operator as 2 Ready pods with probes, one holding the Lease", async () => {
    const pods = await untilPodsReady(cluster, OPERATOR_NAMESPACE, OPERATOR_SELECTOR, 2);
    const holder = await until(leaseHolder, 60_000, "an operator holding the Lease");
    expect(pods.map((pod) => pod.name)).toContain(holder);
    // until() throws unless the domain's Ready condition turns True.
    await until(
      () => domainConditionsTrue("Ready"),
      60_000,
      "MessageDomain Ready (the operator reached the in-cluster Redis)",
      async () => (await cluster.kubectl(["get", "messagedomain", DOMAIN, "-n", NS, "-o", "yaml"])).stdout,
    );
  });

  it("runs the domain's console and legacy bridge as Ready pods, and removes them when asked", async () => {
    const extras = `
  console: { enabled: true }
  legacyBridge: { redisUrlSecretRef: { name: redis-url, key: url } }`;
    await cluster.apply(domainOnRedis(NS, DOMAIN, REDIS_IP, extras));
    // Ready: the console answers /login on the pod IP with its generated token mounted; the bridge's /readyz says
    // Redis and BMN (its own native sidecar) are connected. Both start only after their sidecar answers.
    await untilPodsReady(cluster, NS, "app.kubernetes.io/name=bmn-console", 1);
    await untilPodsReady(cluster, NS, "app.kubernetes.io/name=bmn-legacy-bridge", 1);
    const conditions = await until(
      () => domainConditionsTrue("ConsoleReady", "LegacyBridgeReady"),
      60_000,
      "ConsoleReady and LegacyBridgeReady",
    );
    expect(conditions).toContainEqual(
      expect.objectContaining({ type: "ConsoleReady", reason: "ReplicasReady" }),
    );
    await cluster.apply(BASE);
    const gone = async (kind: string, name: string): Promise<boolean> =>
      (await cluster.getJson([kind, name, "-n", NS])) === undefined;
    await until(
      async () =>
        (await gone("deployment", `${DOMAIN}-bmn-console`)) &&
        (await gone("deployment", `${DOMAIN}-bmn-legacy-bridge`)) &&
        (await gone("secret", `${DOMAIN}-bmn-console-token`)),
      60_000,
      "the console and bridge Deployments and the generated token Secret gone",
    );
  });

  it("two agents exchange messages through their own pods' sidecars: every ping answered", async () => {
    const count = 200;
    await cluster.apply(
      [
        agentEndpoint("pong", { REPLY: "true" }),
        agentEndpoint("ping", { SEND_TO: "pong", SEND_COUNT: String(count), SEND_PER_SECOND: "100" }),
      ].join("---\n"),
    );
    await untilPodsReady(cluster, NS, "beastmode.network/agent=pong", 1);
    await untilPodsReady(cluster, NS, "beastmode.network/agent=ping", 1);
    const counts = await until(
      async () => {
        const ping = await agentCounts(cluster, NS, "ping");
        return ping?.pongs === count ? ping : undefined;
      },
      120_000,
      `${count} pongs`,
      async () => JSON.stringify(await agentCounts(cluster, NS, "ping")),
      500,
    );
    // The agents log their counts once a second: wait for pong's line that covers every reply.
    const pong = await until(
      async () => {
        const counted = await agentCounts(cluster, NS, "pong");
        return (counted?.replied ?? 0) >= count ? counted : undefined;
      },
      30_000,
      "pong's counts",
      undefined,
      500,
    );
    console.log(`exchange: ping ${JSON.stringify(counts)}; pong ${JSON.stringify(pong)}`);
    expect(counts.sent).toBe(count);
    expect(counts.errors).toBe(0);
    expect(pong.received).toBeGreaterThanOrEqual(count);
  });

  /**
   * A caller sends `count` pings at 20/s to a replier; once 50 are answered, `fault` runs against the replier's
   * pod; then every ping must be answered. Returns the caller's final counts.
   */
  async function streamThroughFault(
    names: { caller: string; replier: string },
    fault: (replierPod: PodSummary) => Promise<void>,
    count = 300,
    replier: { replicas?: number; env?: Record<string, string> } = {},
  ): Promise<Record<string, number>> {
    const replierReplicas = replier.replicas ?? 1;
    await cluster.apply(
      [
        agentEndpoint(names.replier, { REPLY: "true", WORK_MS: "20", ...replier.env }, replierReplicas),
        agentEndpoint(names.caller, {
          SEND_TO: names.replier,
          SEND_COUNT: String(count),
          SEND_PER_SECOND: "20",
        }),
      ].join("---\n"),
    );
    const [replierPod] = await untilPodsReady(
      cluster,
      NS,
      `beastmode.network/agent=${names.replier}`,
      replierReplicas,
    );
    await untilPodsReady(cluster, NS, `beastmode.network/agent=${names.caller}`, 1);
    const answered = async (): Promise<Record<string, number> | undefined> =>
      agentCounts(cluster, NS, names.caller);
    await until(async () => ((await answered())?.pongs ?? 0) >= 50, 120_000, "the stream under way");
    if (replierPod === undefined) throw new Error(`no ${names.replier} pod`);
    await fault(replierPod);
    return until(
      async () => {
        const counts = await answered();
        return counts?.pongs === count ? counts : undefined;
      },
      180_000,
      `${count} pongs through the fault`,
      async () => JSON.stringify(await answered()),
      500,
    );
  }

  it("an agent pod deleted mid-stream loses nothing: its leases expire and a new pod answers", async () => {
    const counts = await streamThroughFault({ caller: "caller", replier: "echo" }, async (pod) => {
      const deleted = await cluster.kubectl(["delete", "pod", "-n", NS, pod.name, "--wait=false"]);
      expect(deleted.code).toBe(0);
    });
    console.log(
      `agent pod deleted mid-stream: sent ${counts.sent}, answered ${counts.pongs}, lost ${300 - (counts.pongs ?? 0)}, ` +
        `duplicate answers ${counts.duplicatePongs} (redeliveries of leases the deleted pod held)`,
    );
    expect(counts.pongs).toBe(300);
  });

  /** The redeliveries of the pings `<caller>-1..count`, from the store's traces, printed with their causes. */
  async function redeliveriesOf(caller: string, replier: string, count: number): Promise<RedeliveryReport> {
    const traces = await readTraces(cluster, NS, `beastmode.network/agent=${replier}`, caller, count);
    const report = explainRedeliveries(traces);
    console.log(
      `${replier}: ${describeRedeliveries(report)}` +
        report.redeliveries
          .map(
            (r) =>
              `\n  ${r.id} attempt ${String(r.attempt)}: ${
                r.cause ?? `UNEXPLAINED, trace ${JSON.stringify(traces.find((t) => t.id === r.id)?.events)}`
              }`,
          )
          .join(""),
    );
    return report;
  }

  it("scaling an agent down under load loses nothing; every redelivery is counted and explained", async () => {
    // The pods that go away stop mid-work and leave what they hold unacknowledged: their sidecars give it back.
    const count = 200;
    const counts = await streamThroughFault(
      { caller: "feeder", replier: "shrink" },
      async () => {
        const scaled = await cluster.kubectl(["scale", "ae/shrink", "-n", NS, "--replicas=1"]);
        expect(scaled.code).toBe(0);
        await untilPodsReady(cluster, NS, "beastmode.network/agent=shrink", 1);
      },
      count,
      { replicas: 3, env: { WORK_MS: "100", ABANDON_ON_STOP: "true" } },
    );
    const report = await redeliveriesOf("feeder", "shrink", count);
    console.log(
      `scale-down 3 -> 1 under load: sent ${counts.sent}, answered ${counts.pongs}, lost ${count - (counts.pongs ?? 0)}, ` +
        `duplicate answers ${counts.duplicatePongs}, ${describeRedeliveries(report)}`,
    );
    expect(counts.pongs).toBe(count);
    // Every ping left a trace, and every redelivery followed a lease given back or run out by a pod going away.
    expect(report.untraced).toEqual([]);
    expect(report.unexplained).toEqual([]);
    // A duplicate answer needs a redelivery before it.
    expect(counts.duplicatePongs ?? 0).toBeLessThanOrEqual(report.redeliveries.length);
  });

  it("a new sidecar image rolled out under traffic loses nothing", async () => {
    const newImage = IMAGE_REFERENCES.bmn.replace(/:[^:]+$/, ":rollout");
    await cluster.tagImage(IMAGE_REFERENCES.bmn, newImage);
    const counts = await streamThroughFault({ caller: "source", replier: "relay" }, async (before) => {
      const patch = JSON.stringify({ spec: { sidecar: { image: newImage } } });
      const patched = await cluster.kubectl(["patch", "ae/relay", "-n", NS, "--type=merge", "-p", patch]);
      expect(patched.code).toBe(0);
      const [rolled] = await until(
        async () => {
          const pods = await untilPodsReady(cluster, NS, "beastmode.network/agent=relay", 1);
          return pods[0]?.name !== before.name ? pods : undefined;
        },
        120_000,
        "the relay pod replaced",
      );
      const sidecarImage = await cluster.kubectl([
        "get",
        "pod",
        rolled?.name ?? "",
        "-n",
        NS,
        "-o",
        "jsonpath={.spec.initContainers[?(@.name=='bmn-sidecar')].image}",
      ]);
      expect(sidecarImage.stdout).toBe(newImage);
    });
    console.log(
      `sidecar image rolled out under traffic: sent ${counts.sent}, answered ${counts.pongs}, lost ${300 - (counts.pongs ?? 0)}, duplicate answers ${counts.duplicatePongs}`,
    );
    expect(counts.pongs).toBe(300);
  });

  it("two domains in two namespaces, a Gateway each: messages cross from team-a to team-b, none lost", async () => {
    const count = 100;
    const ips = {
      "team-a": { redis: "10.96.0.61", gateway: "10.96.0.71" },
      "team-b": { redis: "10.96.0.62", gateway: "10.96.0.72" },
    };
    const yaml: string[] = [];
    for (const name of CROSS_DOMAINS) {
      const peer = name === "team-a" ? "team-b" : "team-a";
      yaml.push(
        domainOnRedis(name, name, ips[name].redis, "\n  routing: { crossDomain: true }"),
        `apiVersion: v1
kind: Secret
metadata: { name: peer-token, namespace: ${name} }
stringData: { token: "e2e-link-token-shared-by-both-gateways" }
---
apiVersion: beastmode.network/v1alpha1
kind: Gateway
metadata: { name: edge, namespace: ${name} }
spec:
  domain: ${name}
  replicas: 1
  peers:
    - name: ${peer}
      endpoints: ["http://${ips[peer].gateway}:7430"]
      tokenSecretRef: { name: peer-token, key: token }
---
# A fixed address for the peer's URL (the test cluster has no DNS).
apiVersion: v1
kind: Service
metadata: { name: edge-fixed, namespace: ${name} }
spec:
  clusterIP: ${ips[name].gateway}
  selector: { app.kubernetes.io/name: bmn-gateway, app.kubernetes.io/instance: edge }
  ports: [{ name: gateway, port: 7430, targetPort: 7430 }]
`,
      );
    }
    yaml.push(
      agentEndpoint("inbox", {}, 1, "", { namespace: "team-b", domain: "team-b" }),
      agentEndpoint(
        "outbound",
        { SEND_TO: "inbox@team-b", SEND_COUNT: String(count), SEND_PER_SECOND: "50" },
        1,
        "",
        {
          namespace: "team-a",
          domain: "team-a",
        },
      ),
    );
    await cluster.apply(yaml.join("---\n"));
    for (const name of CROSS_DOMAINS) {
      await untilPodsReady(cluster, name, "app.kubernetes.io/name=bmn-gateway", 1, 180_000);
    }
    await untilPodsReady(cluster, "team-b", "beastmode.network/agent=inbox", 1);
    await untilPodsReady(cluster, "team-a", "beastmode.network/agent=outbound", 1);
    const counts = await until(
      async () => {
        const inbox = await agentCounts(cluster, "team-b", "inbox");
        return inbox?.pings === count ? inbox : undefined;
      },
      180_000,
      `${count} messages in team-b`,
      async () =>
        `outbound ${JSON.stringify(await agentCounts(cluster, "team-a", "outbound"))}, inbox ${JSON.stringify(await agentCounts(cluster, "team-b", "inbox"))}`,
      1_000,
    );
    const sent = await agentCounts(cluster, "team-a", "outbound");
    console.log(
      `cross-domain on pods: sent ${sent?.sent} in team-a, received ${counts.pings} distinct in team-b, lost ${count - (counts.pings ?? 0)}`,
    );
    expect(sent?.sent).toBe(count);
    expect(counts.pings).toBe(count);
  }, 400_000);

  it("killing the leading operator pod: the standby takes the Lease and reconciles", async () => {
    const before = await until(leaseHolder, 60_000, "a Lease holder");
    const killed = await cluster.kubectl([
      "delete",
      "pod",
      "-n",
      OPERATOR_NAMESPACE,
      before,
      "--grace-period=0",
      "--force",
    ]);
    expect(killed.code).toBe(0);
    const after = await until(
      async () => {
        const holder = await leaseHolder();
        return holder !== undefined && holder !== before ? holder : undefined;
      },
      90_000,
      "another operator pod holding the Lease",
    );
    expect(after).not.toBe(before);
    // The new leader reconciles: scaling an AgentEndpoint reaches its Deployment and pods.
    const scaled = await cluster.kubectl(["scale", "ae/pong", "-n", NS, "--replicas=2"]);
    expect(scaled.code).toBe(0);
    await untilPodsReady(cluster, NS, "beastmode.network/agent=pong", 2);
    const operators = await untilPodsReady(cluster, OPERATOR_NAMESPACE, OPERATOR_SELECTOR, 2);
    expect(operators.map((pod) => pod.name)).not.toContain(before);
    expect((await podsOf(cluster, NS, "beastmode.network/agent=pong")).length).toBe(2);
  });

  it(
    "scales an AgentEndpoint on its queue depth with the real HPA controller: up under a backlog, down after",
    { timeout: 600_000 },
    async () => {
      const count = 600;
      const selector = `beastmode.network/domain=${DOMAIN},beastmode.network/agent=worker`;
      const autoscaling = `
  autoscaling:
    minReplicas: 1
    maxReplicas: 4
    metric: queueDepth
    targetQueueDepthPerReplica: 20
    scaleDownStabilizationSeconds: 10`;
      await cluster.apply(agentEndpoint("worker", { REPLY: "true", WORK_MS: "100" }, 1, autoscaling));
      await untilPodsReady(cluster, NS, "beastmode.network/agent=worker", 1);
      const hpa = await until(
        () =>
          cluster.getJson<{ spec: { metrics: { type: string }[] } }>([
            "hpa",
            "-n",
            NS,
            "-l",
            "beastmode.network/agent=worker",
          ]),
        30_000,
        "the worker's HPA",
      );
      expect(JSON.stringify(hpa)).toContain('"type":"External"');
      // The aggregation layer reaches the operator's external metrics API.
      const readMetric = async (metric: string): Promise<number | undefined> => {
        const raw = await cluster.kubectl([
          "get",
          "--raw",
          `/apis/external.metrics.k8s.io/v1beta1/namespaces/${NS}/${metric}?labelSelector=${encodeURIComponent(selector)}`,
        ]);
        if (raw.code !== 0) return undefined;
        const list = JSON.parse(raw.stdout) as { items: { value: string }[] };
        return Number(list.items[0]?.value);
      };
      const readDepth = () => readMetric("bmn_queue_ready_depth");
      expect(await until(readDepth, 90_000, "the external metric served", undefined, 1_000)).toBe(0);

      await cluster.apply(
        agentEndpoint("producer", { SEND_TO: "worker", SEND_COUNT: String(count), SEND_PER_SECOND: "60" }),
      );
      const started = Date.now();
      const timeline: string[] = [];
      let maxReplicas = 1;
      let maxDeletionCost = 0;
      let maxOldestAge = 0;
      const sample = async (): Promise<{ replicas: number; pongs: number }> => {
        const status = await cluster.getJson<{
          status?: { currentReplicas?: number; desiredReplicas?: number };
        }>(["hpa", "worker", "-n", NS]);
        const pods = (await podsOf(cluster, NS, "beastmode.network/agent=worker")).filter(
          (pod) => !pod.deleting,
        );
        const depth = await readDepth();
        const oldest = await readMetric("bmn_queue_oldest_age_seconds");
        maxOldestAge = Math.max(maxOldestAge, oldest ?? 0);
        const pongs = (await agentCounts(cluster, NS, "producer"))?.pongs ?? 0;
        const replicas = status?.status?.currentReplicas ?? 0;
        maxReplicas = Math.max(maxReplicas, replicas);
        const costs = pods.map((pod) => pod.deletionCost ?? "-");
        maxDeletionCost = Math.max(maxDeletionCost, ...pods.map((pod) => pod.deletionCost ?? 0));
        timeline.push(
          `${String(Math.round((Date.now() - started) / 1000)).padStart(4)}s  depth ${String(depth ?? "?").padStart(4)}  ` +
            `oldest ${oldest === undefined ? "?" : `${oldest.toFixed(1)}s`.padStart(6)}  ` +
            `hpa ${replicas}->${status?.status?.desiredReplicas ?? "?"}  pods ${pods.length} (${pods.filter((p) => p.ready).length} ready)  answered ${pongs}/${count}  deletion cost ${costs.join(",")}`,
        );
        return { replicas, pongs };
      };
      try {
        await until(
          async () => (await sample()).replicas > 1,
          120_000,
          "the HPA scaling the worker up",
          undefined,
          2_000,
        );
        await until(
          async () => (await sample()).pongs === count,
          240_000,
          "the backlog drained",
          undefined,
          2_000,
        );
        await until(
          async () => (await sample()).replicas === 1,
          180_000,
          "the HPA scaling back to 1",
          undefined,
          2_000,
        );
      } finally {
        console.log(`autoscaling timeline (queue depth target 20 per replica):\n${timeline.join("\n")}`);
      }
      const report = await redeliveriesOf("producer", "worker", count);
      expect(report.untraced).toEqual([]);
      expect(report.unexplained).toEqual([]);
      expect(maxReplicas).toBeGreaterThan(1);
      // The backlog's head aged while it waited, and the API served that age.
      expect(maxOldestAge).toBeGreaterThan(0);
      // The operator marked pods holding leases as costly to delete while the backlog lasted.
      expect(maxDeletionCost).toBeGreaterThan(0);
      expect((await agentCounts(cluster, NS, "producer"))?.pongs).toBe(count);
    },
  );
  it("a Deployment annotated for injection gets the sidecar from the operator's webhook and exchanges messages", async () => {
    const count = 50;
    await cluster.apply(
      [
        agentEndpoint("inj-echo", { REPLY: "true" }),
        // A plain Deployment, not an AgentEndpoint: the sidecar comes from the annotations alone.
        `apiVersion: apps/v1
kind: Deployment
metadata: { name: inj-caller, namespace: ${NS} }
spec:
  replicas: 1
  selector: { matchLabels: { app: inj-caller } }
  template:
    metadata:
      labels: { app: inj-caller, beastmode.network/agent: inj-caller }
      annotations:
        beastmode.network/inject: "true"
        beastmode.network/agent: inj-caller
        beastmode.network/domain: ${DOMAIN}
    spec:
      automountServiceAccountToken: false
      containers:
        - name: agent
          image: ${IMAGE_REFERENCES.testAgent}
          imagePullPolicy: Never
          env:
            - { name: AGENT, value: inj-caller }
            - { name: SEND_TO, value: inj-echo }
            - { name: SEND_COUNT, value: "${String(count)}" }
            - { name: SEND_PER_SECOND, value: "50" }
          ${RESTRICTED}
`,
      ].join("---\n"),
    );
    await untilPodsReady(cluster, NS, "beastmode.network/agent=inj-echo", 1);
    const [pod] = await untilPodsReady(cluster, NS, "app=inj-caller", 1);
    const injected = await cluster.getJson<{
      metadata: { annotations?: Record<string, string> };
      spec: { initContainers?: { name: string; restartPolicy?: string }[] };
    }>(["pod", pod?.name ?? "", "-n", NS]);
    expect(injected?.spec.initContainers?.[0]).toMatchObject({
      name: "bmn-sidecar",
      restartPolicy: "Always",
    });
    expect(injected?.metadata.annotations?.["beastmode.network/injected"]).toBe(`inj-caller@${DOMAIN}`);
    const counts = await until(
      async () => {
        const caller = await agentCounts(cluster, NS, "inj-caller");
        return caller?.pongs === count ? caller : undefined;
      },
      120_000,
      `${String(count)} pongs to the injected pod`,
      async () => JSON.stringify(await agentCounts(cluster, NS, "inj-caller")),
      500,
    );
    console.log(
      `injected pod: sent ${counts.sent}, answered ${counts.pongs}, lost ${count - (counts.pongs ?? 0)}`,
    );
    expect(counts.sent).toBe(count);
  });
});
