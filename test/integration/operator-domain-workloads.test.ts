import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient } from "../../client/index.js";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { connectingStoreProbe } from "../../operator/reconcilers/store-probe.js";
import { waitFor } from "../conformance/helpers.js";
import { BmnProcess } from "../harness/bmn-process.js";
import { freePort } from "../harness/free-port.js";
import { LegacyAgent } from "../harness/legacy-agent.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";

/**
 * A MessageDomain's own workloads on a real kube-apiserver + kube-controller-manager (PodSecurity "restricted"
 * enforced in the namespace), with a real Redis as the domain's store: `spec.console` (Deployment, Service,
 * NetworkPolicy, the generated token Secret; a missing user Secret; removal), `spec.legacyBridge` (one replica,
 * Recreate; a missing Redis URL Secret; removal), and the rendered pods' commands started as real processes from
 * the rendered args and env: the console serving the domain with its token, the bridge carrying presence and a
 * broadcast between a legacy agent and BMN.
 */
const NAMESPACE = "bmn-domain-workloads";
const WAIT_MS = 20_000;

interface Container {
  name: string;
  args?: string[];
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string; key: string } } }[];
  securityContext?: Record<string, unknown>;
}
interface PodTemplate {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: { containers: Container[]; initContainers?: Container[]; [key: string]: unknown };
}
interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Obj {
  metadata: ObjectMetadata & { labels?: Record<string, string> };
  spec?: { replicas?: number; strategy?: { type: string }; template?: PodTemplate; type?: string };
  data?: Record<string, string>;
  status?: {
    conditions?: Condition[];
    console?: { serviceName: string; tokenSecret: { name: string; key: string }; readyReplicas: number };
    legacyBridge?: { readyReplicas: number };
  };
}

const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, admitPod, eventsFor, errors, untilCondition } = kit;
let controllers: RunningControllers | undefined;
let redis: RedisServerHandle | undefined;

const STORE = { type: "redis", connection: { secretRef: { name: "store", key: "url" } } };

const messageDomain = (name: string, spec: object): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name },
  spec: { store: STORE, sidecarImage: "registry.example/bmn:1", ...spec },
});

const secret = (name: string, data: Record<string, string>): object => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name },
  stringData: data,
});

function conditionOf(object: Obj | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((condition) => condition.type === type);
}

const CONSOLE_KINDS = ["deployment", "service", "networkpolicy"] as const;

async function gone(kind: string, name: string): Promise<void> {
  await waitFor(async () => (await get(kind, name)) === undefined, WAIT_MS, `${kind} ${name} to be deleted`);
}

/** A container's env as the kubelet resolves it, with the given Secret values and overrides. */
function resolvedEnv(
  container: Container | undefined,
  secrets: Record<string, string>,
  overrides: Record<string, string>,
): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container?.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    const value = ref === undefined ? variable.value : secrets[`${ref.name}/${ref.key}`];
    if (value !== undefined) env[variable.name] = value;
  }
  return { ...env, ...overrides };
}

/** The rendered arguments with the value after each named flag replaced (in-cluster paths and ports). */
function withFlags(args: readonly string[], values: Record<string, string>): string[] {
  return args.map((arg, index) => {
    const flag = args[index - 1];
    return flag !== undefined && flag in values ? (values[flag] ?? arg) : arg;
  });
}

/** A rendered pod's containers, and its sidecar started as a real process as the kubelet would start it. */
interface RenderedPod {
  containers: Container[];
  sidecar: BmnProcess;
}

/**
 * Reads a domain workload's Deployment and the domain ConfigMap, and starts the pod's sidecar from its rendered
 * args and env (the ConfigMap's file in `dir`, the store URL from the test's Secret, free ports).
 */
async function startRenderedSidecar(deployment: string, domain: string, dir: string): Promise<RenderedPod> {
  const pod = (await get("deployment", deployment))?.spec?.template?.spec;
  const rendered = pod?.initContainers?.find((container) => container.name === "bmn-sidecar");
  const configMap = await waitFor(
    () => get("configmap", `bmn-domain-${domain}`),
    WAIT_MS,
    "the domain ConfigMap",
  );
  const configFile = join(dir, "bmn.yaml");
  await writeFile(configFile, configMap.data?.["bmn.yaml"] ?? "");
  const probePort = await freePort();
  const sidecar = await BmnProcess.start({
    label: `${deployment} sidecar`,
    port: await freePort(),
    args: () => rendered?.args ?? [],
    env: (port) =>
      resolvedEnv(
        rendered,
        { "store/url": redis?.url ?? "" },
        { BMN_CONFIG: configFile, BMN_PORT: String(port), BMN_PROBE_PORT: String(probePort) },
      ),
    readyPath: "/readyz",
  });
  return { containers: pod?.containers ?? [], sidecar };
}

async function secretValue(name: string, key: string): Promise<string> {
  const object = await waitFor(() => get("secret", name), WAIT_MS, `Secret ${name}`);
  return Buffer.from(object.data?.[key] ?? "", "base64").toString("utf8");
}

beforeAll(async () => {
  const [kubeConfig] = await Promise.all([kit.start(), startRedis().then((started) => (redis = started))]);
  await kit.enforceRestricted();
  await mustApply(secret("store", { url: redis?.url ?? "" }));
  controllers = await startControllers(kubeConfig, {
    namespace: NAMESPACE,
    resyncMs: 0,
    notReadyRequeueMs: 250,
    storeProbeIntervalMs: 2_000,
    storeProbe: connectingStoreProbe({ timeoutMs: 1_000 }),
    queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
    onError: kit.onError,
  });
});

afterAll(async () => {
  await controllers?.stop();
  await Promise.all([kit.stop(), redis?.cleanup()]);
});

describe("spec.console on a real control plane", () => {
  const CHILD = "team-a-bmn-console";
  const TOKEN_SECRET = "team-a-bmn-console-token";

  it("the apiserver refuses a console on the memory store, naming the field", async () => {
    const refused = await kubectl(
      ["apply", "-n", NAMESPACE, "-f", "-"],
      JSON.stringify(messageDomain("team-memory", { store: { type: "memory" }, console: { enabled: true } })),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("spec.console.enabled");
    expect(refused.stderr).toContain("needs a redis or sql store");
  });

  it("runs the console: Deployment, Service, NetworkPolicy and a generated token Secret, owned by the domain", async () => {
    await mustApply(messageDomain("team-a", { console: { enabled: true } }));
    const domain = await waitFor(() => get("messagedomain", "team-a"), WAIT_MS, "the domain");
    for (const kind of [...CONSOLE_KINDS, "secret"] as const) {
      const name = kind === "secret" ? TOKEN_SECRET : CHILD;
      const child = await waitFor(() => get(kind, name), WAIT_MS, `the ${kind}`);
      expect(child.metadata.ownerReferences, kind).toEqual([
        expect.objectContaining({
          kind: "MessageDomain",
          name: "team-a",
          uid: domain.metadata.uid,
          controller: true,
        }),
      ]);
    }
    expect((await get("deployment", CHILD))?.spec?.replicas).toBe(1);
    expect((await get("service", CHILD))?.spec?.type).toBe("ClusterIP");
    // No kubelet here: the pod never becomes ready, and the condition says so.
    const withStatus = await untilCondition(
      "messagedomain",
      "team-a",
      "ConsoleReady",
      "ReplicasNotReady",
      WAIT_MS,
    );
    expect(withStatus.status).toBe("False");
    const current = await get("messagedomain", "team-a");
    expect(current?.status?.console).toEqual({
      serviceName: CHILD,
      tokenSecret: { name: TOKEN_SECRET, key: "token" },
      readyReplicas: 0,
    });
    expect(conditionOf(current, "Ready")).toMatchObject({ status: "True", reason: "DomainReady" });
    const created = (await eventsFor("team-a")).filter((e) => e.reason === "Created").map((e) => e.message);
    expect(created).toEqual(
      expect.arrayContaining([
        `created Secret ${TOKEN_SECRET}`,
        `created Deployment ${CHILD}`,
        `created Service ${CHILD}`,
        `created NetworkPolicy ${CHILD}`,
      ]),
    );
  });

  it("generates the token once: a spec change rolls the Deployment but keeps the Secret", async () => {
    const before = await waitFor(() => get("secret", TOKEN_SECRET), WAIT_MS, "the token Secret");
    const token = await secretValue(TOKEN_SECRET, "token");
    expect(token).toMatch(/^[\x21-\x7e]{8,4096}$/);
    await mustApply(
      messageDomain("team-a", {
        console: { enabled: true, traceUrl: "http://jaeger:16686/trace/{traceId}" },
      }),
    );
    await waitFor(
      async () =>
        (await get("deployment", CHILD))?.spec?.template?.spec.containers[0]?.args?.includes(
          "--trace-url",
        ) === true,
      WAIT_MS,
      "the console to get --trace-url",
    );
    expect((await get("secret", TOKEN_SECRET))?.metadata.resourceVersion).toBe(
      before.metadata.resourceVersion,
    );
  });

  it("PodSecurity restricted admits the console pod", async () => {
    const template = (await get("deployment", CHILD))?.spec?.template;
    if (template === undefined) throw new Error("no pod template");
    const admitted = await admitPod("console", template);
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });

  it("the rendered sidecar and bmn console start from their args and env and serve the domain with the token", async () => {
    const token = await secretValue(TOKEN_SECRET, "token");
    const dir = await mkdtemp(join(tmpdir(), "bmn-op-console-"));
    const processes: BmnProcess[] = [];
    try {
      const tokenFile = join(dir, "token");
      await writeFile(tokenFile, `${token}\n`);
      const { containers, sidecar } = await startRenderedSidecar(CHILD, "team-a", dir);
      const consoleContainer = containers.find((container) => container.name === "console");
      processes.push(sidecar);
      const consoleProcess = await BmnProcess.start({
        label: "console",
        port: await freePort(),
        args: (port) =>
          withFlags(consoleContainer?.args ?? [], {
            "--port": String(port),
            "--sidecar": sidecar.url,
            "--token-file": tokenFile,
          }),
        env: resolvedEnv(consoleContainer, {}, {}),
        readyPath: "/login",
      });
      processes.push(consoleProcess);
      // Listening beyond loopback (0.0.0.0, as rendered): the API needs the token read from the file.
      expect((await fetch(`${consoleProcess.url}/api/v1/info`)).status).toBe(401);
      const info = await fetch(`${consoleProcess.url}/api/v1/info`, {
        headers: { authorization: `Bearer ${token}` },
      });
      expect(info.status).toBe(200);
      expect(await info.json()).toMatchObject({ domain: "team-a", store: "redis" });
    } finally {
      for (const process of processes.reverse()) await process.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("a token Secret the user names and that is missing: ConsoleReady and Degraded say so, with one Warning", async () => {
    await mustApply(
      messageDomain("team-b", {
        console: { enabled: true, tokenSecretRef: { name: "console-auth", key: "token" } },
      }),
    );
    const missing = await untilCondition(
      "messagedomain",
      "team-b",
      "ConsoleReady",
      "SecretNotFound",
      WAIT_MS,
    );
    expect(missing.message).toContain("Secret console-auth (spec.console.tokenSecretRef) not found");
    await untilCondition("messagedomain", "team-b", "Degraded", "SecretNotFound", WAIT_MS);
    // The Deployment is there, waiting for the Secret, and nothing was generated for a named Secret.
    await waitFor(() => get("deployment", "team-b-bmn-console"), WAIT_MS, "the Deployment");
    expect(await get("secret", "team-b-bmn-console-token")).toBeUndefined();
    const warnings = await waitFor(
      async () => {
        const list = (await eventsFor("team-b")).filter((e) => e.type === "Warning");
        return list.length > 0 ? list : undefined;
      },
      WAIT_MS,
      "a Warning Event",
    );
    expect(warnings.map((e) => e.reason)).toEqual(["SecretNotFound"]);

    await mustApply(secret("console-auth", { token: "a-console-token-of-enough-length" }));
    await untilCondition("messagedomain", "team-b", "ConsoleReady", "ReplicasNotReady", WAIT_MS);
    await untilCondition("messagedomain", "team-b", "Degraded", "AsExpected", WAIT_MS);
    const annotations = (await get("deployment", "team-b-bmn-console"))?.spec?.template?.metadata
      ?.annotations;
    expect(annotations?.["beastmode.network/token-hash"]).toMatch(/^[0-9a-f]{16}$/);
    await waitFor(
      async () => (await eventsFor("team-b")).some((e) => e.reason === "Recovered"),
      WAIT_MS,
      "a Recovered Event",
    );
  });

  it("never takes over an object of the console's name it does not own", async () => {
    await mustApply({
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "team-c-bmn-console" },
      spec: { ports: [{ port: 80 }] },
    });
    await mustApply(messageDomain("team-c", { console: { enabled: true } }));
    const conflict = await untilCondition("messagedomain", "team-c", "Degraded", "NameConflict", WAIT_MS);
    expect(conflict.message).toContain("Service team-c-bmn-console already exists");
    const service = await get("service", "team-c-bmn-console");
    expect(service?.metadata.ownerReferences).toBeUndefined();
  });

  it("disabling the console deletes its children and the generated Secret, never the user's Secret", async () => {
    await mustApply(messageDomain("team-a", { console: { enabled: false } }));
    await mustApply(messageDomain("team-b", {}));
    for (const kind of CONSOLE_KINDS) {
      await gone(kind, CHILD);
      await gone(kind, "team-b-bmn-console");
    }
    await gone("secret", TOKEN_SECRET);
    expect(await get("secret", "console-auth")).toBeDefined();
    const domain = await untilCondition("messagedomain", "team-a", "ConsoleReady", "NotEnabled", WAIT_MS);
    expect(domain.status).toBe("True");
    await waitFor(
      async () => (await get("messagedomain", "team-a"))?.status?.console === undefined,
      WAIT_MS,
      "status.console to go",
    );
    const deleted = (await eventsFor("team-a")).filter((e) => e.reason === "Deleted").map((e) => e.message);
    expect(deleted).toEqual(
      expect.arrayContaining([`deleted Deployment ${CHILD}`, `deleted Secret ${TOKEN_SECRET}`]),
    );
  });
});

describe("spec.legacyBridge on a real control plane", () => {
  const CHILD = "team-l-bmn-legacy-bridge";
  const bridgeDomain = (bridge: object | undefined): object =>
    messageDomain("team-l", bridge === undefined ? {} : { legacyBridge: bridge });
  const BRIDGE = {
    redisUrlSecretRef: { name: "legacy-redis", key: "url" },
    topics: ["ops.#"],
    topicPrefix: "old",
  };

  it("the apiserver refuses a bridge on the memory store, naming the field", async () => {
    const refused = await kubectl(
      ["apply", "-n", NAMESPACE, "-f", "-"],
      JSON.stringify(messageDomain("team-memory", { store: { type: "memory" }, legacyBridge: BRIDGE })),
    );
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain("spec.legacyBridge");
  });

  it("runs one replica with Recreate, owned by the domain; a missing Redis URL Secret is reported with a Warning", async () => {
    await mustApply(bridgeDomain(BRIDGE));
    const domain = await waitFor(() => get("messagedomain", "team-l"), WAIT_MS, "the domain");
    for (const kind of ["deployment", "networkpolicy"]) {
      const child = await waitFor(() => get(kind, CHILD), WAIT_MS, `the ${kind}`);
      expect(child.metadata.ownerReferences, kind).toEqual([
        expect.objectContaining({ kind: "MessageDomain", uid: domain.metadata.uid, controller: true }),
      ]);
    }
    const deployment = await get("deployment", CHILD);
    expect(deployment?.spec?.replicas).toBe(1);
    expect(deployment?.spec?.strategy?.type).toBe("Recreate");
    const missing = await untilCondition(
      "messagedomain",
      "team-l",
      "LegacyBridgeReady",
      "SecretNotFound",
      WAIT_MS,
    );
    expect(missing.message).toContain("Secret legacy-redis (spec.legacyBridge.redisUrlSecretRef) not found");
    await untilCondition("messagedomain", "team-l", "Degraded", "SecretNotFound", WAIT_MS);
    const warnings = await waitFor(
      async () => {
        const list = (await eventsFor("team-l")).filter((e) => e.type === "Warning");
        return list.length > 0 ? list : undefined;
      },
      WAIT_MS,
      "a Warning Event",
    );
    expect(warnings.map((e) => e.reason)).toEqual(["SecretNotFound"]);

    await mustApply(secret("legacy-redis", { url: redis?.url ?? "" }));
    await untilCondition("messagedomain", "team-l", "LegacyBridgeReady", "ReplicasNotReady", WAIT_MS);
    await untilCondition("messagedomain", "team-l", "Degraded", "AsExpected", WAIT_MS);
    const rolled = await waitFor(
      async () => {
        const annotations = (await get("deployment", CHILD))?.spec?.template?.metadata?.annotations;
        return annotations?.["beastmode.network/redis-url-hash"];
      },
      WAIT_MS,
      "the Redis URL digest on the pod template",
    );
    expect(rolled).toMatch(/^[0-9a-f]{16}$/);
    expect((await get("messagedomain", "team-l"))?.status?.legacyBridge).toEqual({ readyReplicas: 0 });
  });

  it("PodSecurity restricted admits the bridge pod", async () => {
    const template = (await get("deployment", CHILD))?.spec?.template;
    if (template === undefined) throw new Error("no pod template");
    const admitted = await admitPod("bridge", template);
    expect(admitted, admitted.stderr).toMatchObject({ code: 0 });
  });

  it("the rendered sidecar and bmn bridge legacy start from their args and env and bridge a legacy agent", async () => {
    const url = redis?.url ?? "";
    const dir = await mkdtemp(join(tmpdir(), "bmn-op-bridge-"));
    const processes: BmnProcess[] = [];
    let legacy: LegacyAgent | undefined;
    try {
      const { containers, sidecar } = await startRenderedSidecar(CHILD, "team-l", dir);
      const bridgeContainer = containers.find((container) => container.name === "bridge");
      processes.push(sidecar);
      const bridge = await BmnProcess.start({
        label: "legacy bridge",
        port: await freePort(),
        args: (port) => withFlags(bridgeContainer?.args ?? [], { "--port": String(port) }),
        // The legacy Redis URL comes from its Secret; BMN_URL points at this test's sidecar instead of 7420.
        env: resolvedEnv(bridgeContainer, { "legacy-redis/url": url }, { BMN_URL: sidecar.url }),
        readyPath: "/readyz",
      });
      processes.push(bridge);

      legacy = await LegacyAgent.start(url, "Legacy_Ann", ["python"]);
      await legacy.announce();
      const watcher = new BmnClient({ url: sidecar.url, agent: "watcher" });
      const record = await waitFor(
        async () => (await watcher.agents()).find((agent) => agent.name === "legacy-ann"),
        WAIT_MS,
        "the legacy agent in the BMN registry",
        100,
      );
      expect(record.metadata).toMatchObject({ origin: "legacy", legacyid: "Legacy_Ann" });
      // spec.legacyBridge.topics reached the bridge: a BMN publish on ops.# is broadcast on the legacy channel.
      const published = await watcher.publish("ops.alert", {
        from: "watcher",
        type: "beast.alert",
        data: { level: 2 },
      });
      const heard = await waitFor(
        () => legacy?.heard.find((message) => message.id === published.id),
        WAIT_MS,
        "the broadcast on the legacy channel",
        100,
      );
      expect(heard).toMatchObject({ type: "alert", source: "watcher", target: null, payload: { level: 2 } });
    } finally {
      await legacy?.close();
      for (const process of processes.reverse()) await process.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("removing spec.legacyBridge deletes the Deployment and NetworkPolicy, never the Secret", async () => {
    await mustApply(bridgeDomain(undefined));
    await gone("deployment", CHILD);
    await gone("networkpolicy", CHILD);
    expect(await get("secret", "legacy-redis")).toBeDefined();
    await untilCondition("messagedomain", "team-l", "LegacyBridgeReady", "NotEnabled", WAIT_MS);
    await waitFor(
      async () => (await get("messagedomain", "team-l"))?.status?.legacyBridge === undefined,
      WAIT_MS,
      "status.legacyBridge to go",
    );
  });
});

describe("the controllers", () => {
  it("reported no error but the name conflict (watches retried while the apiserver's storage starts are fine)", () => {
    expect(errors.filter((e) => !/HTTP-Code: 429|conflict/i.test(e))).toEqual([]);
  });
});
