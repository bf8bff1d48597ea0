import { execFile } from "node:child_process";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseAllDocuments } from "yaml";
import { waitFor } from "../conformance/helpers.js";
import type { ControlPlane, KubectlResult } from "../harness/kube-control-plane.js";
import { startControlPlaneWithCrds } from "../harness/kube-with-crds.js";
import { spawnOperator, type OperatorProcess } from "../harness/operator-process.js";

/**
 * The real `bmn operator` process (spawned through cli/bin/bmn.js) on a real control plane, authenticated as
 * the Helm chart's ServiceAccount with only the chart's RBAC bound: it reconciles, it cannot read Secrets it
 * was not granted, two replicas elect one leader, a kill -9'd leader is replaced after the lease duration, a
 * SIGTERM'd one hands over at once, and a restart mid-reconcile converges without duplicates.
 */
const OPERATOR_NS = "bmn-system";
const APPS_NS = "apps";
const VAULT_NS = "vault";
const RELEASE = "bmn";
const SERVICE_ACCOUNT = "bmn";
const LEASE = "bmn-operator";
const LEASE_DURATION_S = 6;
const POLL_MS = 200;
const WAIT_MS = 30_000;

let plane: ControlPlane | undefined;
let saKubeconfig = "";
const operators: OperatorProcess[] = [];

function controlPlane(): ControlPlane {
  if (plane === undefined) throw new Error("the control plane did not start");
  return plane;
}

const kubectl = (args: readonly string[], input?: string): Promise<KubectlResult> =>
  controlPlane().kubectl(args, input === undefined ? {} : { input });

async function mustKubectl(args: readonly string[], input?: string): Promise<string> {
  const result = await kubectl(args, input);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

/** kubectl as the chart's ServiceAccount (its token, no client certificate). */
async function kubectlAsOperator(args: readonly string[]): Promise<KubectlResult> {
  const run = promisify(execFile);
  try {
    const { stdout, stderr } = await run(controlPlane().binaries.kubectl, [
      "--kubeconfig",
      saKubeconfig,
      "--cache-dir",
      join(controlPlane().dir, "kubectl-sa-cache"),
      ...args,
    ]);
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code?: number; stdout?: string; stderr?: string };
    return { code: failed.code ?? 1, stdout: failed.stdout ?? "", stderr: failed.stderr ?? "" };
  }
}

/** Polls `probe` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
function until<T>(
  probe: () => Promise<T | undefined | false>,
  what: string,
  timeoutMs = WAIT_MS,
): Promise<T> {
  return waitFor(probe, timeoutMs, what, POLL_MS);
}

async function leaseHolder(): Promise<string> {
  const result = await kubectl([
    "get",
    "lease",
    "-n",
    OPERATOR_NS,
    LEASE,
    "--ignore-not-found",
    "-o",
    "jsonpath={.spec.holderIdentity}",
  ]);
  return result.stdout.trim();
}

function startOperator(identity: string): OperatorProcess {
  const operator = spawnOperator(identity, [
    "--kubeconfig",
    saKubeconfig,
    "--lease-namespace",
    OPERATOR_NS,
    "--lease-name",
    LEASE,
    `--lease-duration=${LEASE_DURATION_S}`,
    "--renew-deadline=4",
    "--retry-period=0.3",
    "--host=127.0.0.1",
    "--port=0",
    "--resync=0",
  ]);
  operators.push(operator);
  return operator;
}

async function http(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

function metricValue(metrics: string, name: string): number | undefined {
  const line = metrics.split("\n").find((candidate) => candidate.startsWith(`${name} `));
  return line === undefined ? undefined : Number(line.slice(name.length + 1));
}

const domain = {
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name: "team-a", namespace: APPS_NS },
  spec: { sidecarImage: "registry.example/bmn:test" },
};

const endpoint = (name: string): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "AgentEndpoint",
  metadata: { name, namespace: APPS_NS },
  spec: {
    domain: "team-a",
    agent: name,
    template: { spec: { containers: [{ name: "agent", image: "registry.example/agent:1" }] } },
  },
});

interface Deployment {
  metadata: {
    name: string;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
}

/** The Deployments the operator manages in the apps namespace. */
async function managedDeployments(): Promise<Deployment[]> {
  const out = await mustKubectl([
    "get",
    "deployments",
    "-n",
    APPS_NS,
    "-l",
    "app.kubernetes.io/managed-by=bmn-operator",
    "-o",
    "json",
  ]);
  return (JSON.parse(out) as { items: Deployment[] }).items;
}

async function deploymentExists(name: string): Promise<boolean> {
  return (await managedDeployments()).some((deployment) => deployment.metadata.name === name);
}

beforeAll(async () => {
  plane = await startControlPlaneWithCrds();
  for (const namespace of [OPERATOR_NS, APPS_NS, VAULT_NS])
    await mustKubectl(["create", "namespace", namespace]);

  // Exactly the chart's RBAC: rendered by helm with Secret access granted in the apps namespace only.
  const run = promisify(execFile);
  const { stdout: rendered } = await run(
    controlPlane().binaries.helm,
    [
      "template",
      RELEASE,
      "charts/beast-mode-network",
      "--namespace",
      OPERATOR_NS,
      "--kube-version",
      controlPlane().binaries.version,
      "--set",
      `rbac.secretNamespaces={${APPS_NS}}`,
      "--set",
      `operator.leaderElection.leaseName=${LEASE}`,
    ],
    { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: controlPlane().dir } },
  );
  const kinds = parseAllDocuments(rendered)
    .map((doc) => (doc.toJS() as { kind?: string } | null)?.kind)
    .filter((kind) => kind !== undefined);
  expect(kinds).toEqual(
    expect.arrayContaining(["ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role"]),
  );
  await mustKubectl(["apply", "-f", "-"], rendered);

  // A short-lived token for the ServiceAccount through the TokenRequest API.
  const token = (
    await mustKubectl(["create", "token", SERVICE_ACCOUNT, "-n", OPERATOR_NS, "--duration=2h"])
  ).trim();
  const ca = await readFile(controlPlane().pki.caCert);
  saKubeconfig = join(controlPlane().dir, "operator-sa.kubeconfig");
  await writeFile(
    saKubeconfig,
    `apiVersion: v1
kind: Config
clusters:
  - name: test
    cluster: { server: "${controlPlane().server}", certificate-authority-data: ${ca.toString("base64")} }
users:
  - name: operator
    user: { token: "${token}" }
contexts:
  - name: operator
    context: { cluster: test, user: operator }
current-context: operator
`,
    { mode: 0o600 },
  );

  await mustKubectl(["create", "secret", "generic", "store", "-n", APPS_NS, "--from-literal=url=redis://x"]);
  await mustKubectl(["create", "secret", "generic", "store", "-n", VAULT_NS, "--from-literal=url=redis://y"]);
  await mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(domain));
});

afterAll(async () => {
  for (const operator of operators) operator.kill("SIGKILL");
  await Promise.all(operators.map((operator) => operator.exited));
  await plane?.stop();
});

describe("the chart's RBAC for the operator's ServiceAccount", () => {
  it("cannot read a Secret outside the namespaces granted, nor list Secrets anywhere", async () => {
    const denied = await kubectlAsOperator(["get", "secret", "store", "-n", VAULT_NS]);
    expect(denied.code).not.toBe(0);
    expect(denied.stderr).toMatch(/Forbidden.*cannot get resource "secrets".*namespace "vault"/);

    const granted = await kubectlAsOperator(["get", "secret", "store", "-n", APPS_NS, "-o", "name"]);
    expect(granted, granted.stderr).toMatchObject({ code: 0, stdout: "secret/store\n" });

    for (const question of [
      ["list", "secrets", "-n", APPS_NS],
      ["watch", "secrets", "-n", APPS_NS],
      ["get", "secrets", "-n", OPERATOR_NS],
      ["get", "secrets", "--all-namespaces"],
      ["delete", "namespaces"],
      ["update", "leases", "-n", APPS_NS],
      // The console token it generates: only where it may read Secrets.
      ["create", "secrets", "-n", VAULT_NS],
    ]) {
      const answer = await kubectlAsOperator(["auth", "can-i", ...question]);
      expect(answer.stdout.trim(), question.join(" ")).toBe("no");
    }
    for (const question of [
      ["watch", "agentendpoints.beastmode.network", "--all-namespaces"],
      ["patch", "deployments.apps", "-n", APPS_NS],
      ["create", "leases", "-n", OPERATOR_NS],
      ["create", "secrets", "-n", APPS_NS],
      ["delete", "secrets", "-n", APPS_NS],
    ]) {
      const answer = await kubectlAsOperator(["auth", "can-i", ...question]);
      expect(answer.stdout.trim(), question.join(" ")).toBe("yes");
    }
  });
});

describe("bmn operator processes with leader election", () => {
  let first: OperatorProcess | undefined;
  let second: OperatorProcess | undefined;

  it("elects one leader; only the leader runs controllers and reconciles; health, readiness and metrics answer", async () => {
    const a = startOperator("op-a");
    const b = startOperator("op-b");
    const holder = await until(async () => {
      const identity = await leaseHolder();
      return identity === "op-a" || identity === "op-b" ? identity : undefined;
    }, "a leader");
    [first, second] = holder === "op-a" ? [a, b] : [b, a];
    await first.waitForLog("controllers started");

    await mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(endpoint("one")));
    await until(() => deploymentExists("one"), "the Deployment of AgentEndpoint one");

    for (const [operator, leading] of [
      [first, 1],
      [second, 0],
    ] as const) {
      const port = await operator.port();
      expect(await http(port, "/healthz")).toEqual({ status: 200, body: "ok\n" });
      // Ready when the caches synced (leader) or while standing by.
      expect(await http(port, "/readyz")).toEqual({ status: 200, body: "ok\n" });
      const metrics = await http(port, "/metrics");
      expect(metrics.status).toBe(200);
      expect(metricValue(metrics.body, "bmn_operator_leader"), operator.identity).toBe(leading);
      expect(metricValue(metrics.body, "bmn_operator_controllers_running"), operator.identity).toBe(leading);
      expect(metrics.body).toContain("bmn_operator_process_cpu_seconds_total");
      const reconciled = async (): Promise<number | undefined> =>
        metricValue(
          (await http(port, "/metrics")).body,
          'bmn_operator_reconcile_duration_seconds_count{kind="AgentEndpoint",outcome="success"}',
        );
      // The Deployment appears mid-reconcile; the reconcile is counted when it finishes.
      if (leading === 1)
        await until(async () => ((await reconciled()) ?? 0) > 0, "the leader to count its reconciles");
      else expect(await reconciled()).toBeUndefined();
    }
    expect(second.logs().some((line) => line.msg === "controllers started")).toBe(false);
    expect(await leaseHolder()).toBe(first.identity);
  });

  it("after kill -9 of the leader, the standby takes over once the lease expires and reconciles", async () => {
    if (first === undefined || second === undefined) throw new Error("no leader from the previous test");
    const killedAt = Date.now();
    first.kill("SIGKILL");
    await first.exited;
    const standby = second;
    await until(async () => (await leaseHolder()) === standby.identity, "the standby to take the lease");
    const tookOverMs = Date.now() - killedAt;
    // Nobody renewed: the standby must wait out the lease before it takes over.
    expect(tookOverMs).toBeGreaterThan((LEASE_DURATION_S - 2) * 1000);
    await standby.waitForLog("controllers started");

    await mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(endpoint("two")));
    await until(() => deploymentExists("two"), "the Deployment of AgentEndpoint two");
  });

  it("on SIGTERM the leader stops its controllers, releases the lease at once and exits 0", async () => {
    if (second === undefined) throw new Error("no leader from the previous test");
    const leader = second;
    const next = startOperator("op-c");
    await next.waitForLog("another replica leads; standing by");

    const terminatedAt = Date.now();
    leader.kill("SIGTERM");
    expect(await leader.exited).toBe(0);
    expect(leader.logs().map((line) => line.msg)).toEqual(
      expect.arrayContaining(["controllers stopped", "operator stopped"]),
    );
    await until(async () => (await leaseHolder()) === next.identity, "op-c to take the released lease");
    // Released, not expired: well under one lease duration.
    expect(Date.now() - terminatedAt).toBeLessThan(LEASE_DURATION_S * 1000);
    await next.waitForLog("controllers started");
  });

  it("restarted right after CRs were created, converges to exactly the expected children", async () => {
    const leader = operators.find((operator) => operator.identity === "op-c");
    if (leader === undefined) throw new Error("no leader from the previous test");
    const names = ["r1", "r2", "r3", "r4", "r5"];
    await mustKubectl(
      ["apply", "--server-side", "-f", "-"],
      names.map((name) => JSON.stringify(endpoint(name))).join("\n"),
    );
    leader.kill("SIGKILL");
    await leader.exited;

    startOperator("op-d");
    const expected = ["one", "two", ...names].sort();
    const deployments = await until(async () => {
      const found = await managedDeployments();
      return found.length >= expected.length ? found : undefined;
    }, "every AgentEndpoint's Deployment");
    expect(deployments.map((deployment) => deployment.metadata.name).sort()).toEqual(expected);

    const endpoints = JSON.parse(
      await mustKubectl(["get", "agentendpoints", "-n", APPS_NS, "-o", "json"]),
    ) as {
      items: { metadata: { name: string; uid: string } }[];
    };
    for (const deployment of deployments) {
      const owner = endpoints.items.find((item) => item.metadata.name === deployment.metadata.name);
      expect(deployment.metadata.ownerReferences).toEqual([
        expect.objectContaining({ kind: "AgentEndpoint", uid: owner?.metadata.uid, controller: true }),
      ]);
    }
    // Idempotent applies: one ReplicaSet per Deployment (a spurious template change would roll a second one).
    await until(async () => {
      const out = await mustKubectl([
        "get",
        "replicasets",
        "-n",
        APPS_NS,
        "-o",
        "jsonpath={range .items[*]}{.metadata.ownerReferences[0].name}{'\\n'}{end}",
      ]);
      const owners = out.trim().split("\n").filter(Boolean).sort();
      return owners.length >= expected.length ? owners : undefined;
    }, "the ReplicaSets").then((owners) => {
      expect(owners).toEqual(expected);
    });
  });
});

describe("bmn operator --no-leader-elect", () => {
  it("runs the controllers at once, is ready, and exits 0 on SIGTERM", async () => {
    for (const operator of operators) operator.kill("SIGKILL");
    await Promise.all(operators.map((operator) => operator.exited));
    const solo = spawnOperator("op-solo", [
      "--kubeconfig",
      saKubeconfig,
      "--no-leader-elect",
      "--host=127.0.0.1",
      "--port=0",
      "--log-level=debug",
    ]);
    operators.push(solo);
    await solo.waitForLog("controllers started");
    const port = await solo.port();
    expect(await http(port, "/readyz")).toEqual({ status: 200, body: "ok\n" });
    expect(metricValue((await http(port, "/metrics")).body, "bmn_operator_leader")).toBe(1);
    await mustKubectl(["apply", "--server-side", "-f", "-"], JSON.stringify(endpoint("solo")));
    await until(() => deploymentExists("solo"), "the Deployment of AgentEndpoint solo");
    // One debug line per reconcile, with the resource and the run as fields.
    const reconciled = await until(
      () => Promise.resolve(solo.logs().find((line) => line.msg === "reconciled" && line.name === "solo")),
      "a debug line for the reconcile of AgentEndpoint solo",
    );
    expect(reconciled).toMatchObject({
      level: "debug",
      kind: "AgentEndpoint",
      namespace: APPS_NS,
      name: "solo",
      outcome: "success",
    });
    expect(reconciled.reconcileID).toMatch(/^[0-9a-f-]{36}$/);
    const linesBeforeStop = solo.logs().length;
    solo.kill("SIGTERM");
    expect(await solo.exited).toBe(0);
    // Levels are names; a clean shutdown logs no warning or error.
    expect(solo.logs().filter((line) => typeof line.level !== "string")).toEqual([]);
    const shutdown = solo.logs().slice(linesBeforeStop);
    expect(shutdown.filter((line) => line.level === "warn" || line.level === "error")).toEqual([]);
    expect(shutdown.map((line) => line.msg)).toContain("operator stopped");
  });
});

describe("bmn operator and its Lease", () => {
  it("refuses to start out of cluster without --lease-namespace", async () => {
    const homeless = spawnOperator("op-no-lease-ns", ["--kubeconfig", saKubeconfig, "--port=0"]);
    expect(await homeless.exited).not.toBe(0);
    expect(homeless.output()).toContain("--lease-namespace");
  });

  it("answers /readyz 503 while it cannot contend for the Lease, and logs the reason once", async () => {
    // The ServiceAccount may not write Leases in VAULT_NS.
    const blocked = spawnOperator("op-blocked", [
      "--kubeconfig",
      saKubeconfig,
      "--lease-namespace",
      VAULT_NS,
      "--retry-period=0.3",
      "--renew-deadline=4",
      "--lease-duration=6",
      "--host=127.0.0.1",
      "--port=0",
    ]);
    try {
      const port = await blocked.port();
      const notReady = await until(async () => {
        const answer = await http(port, "/readyz");
        return answer.status === 503 ? answer : undefined;
      }, "/readyz to fail");
      expect(notReady.body).toContain("cannot contend for the lease");
      // Several retry periods later, still one warning for the one reason.
      await until(
        async () =>
          (metricValue(
            (await http(port, "/metrics")).body,
            'bmn_operator_errors_total{source="leader-election"}',
          ) ?? 0) >= 3,
        "three failed lease attempts",
      );
      const warnings = blocked.logs().filter((line) => line.msg === "cannot contend for the lease");
      expect(warnings).toHaveLength(1);
      expect(warnings[0]?.level).toBe("warn");
    } finally {
      blocked.kill("SIGKILL");
      await blocked.exited;
    }
  });
});

describe("least privilege is enough", () => {
  it("no operator process logged a Forbidden answer from the apiserver", () => {
    const forbidden = operators.flatMap((operator) =>
      operator
        .logs()
        .filter((line) => /forbidden|\b403\b/i.test(JSON.stringify(line)))
        .map((line) => `${operator.identity}: ${JSON.stringify(line)}`),
    );
    expect(forbidden).toEqual([]);
    expect(operators.length).toBeGreaterThanOrEqual(4);
  });
});
