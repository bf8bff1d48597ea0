import { parse } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { MessageDomainReconciler } from "../../operator/reconcilers/message-domain.js";
import { connectingStoreProbe } from "../../operator/reconcilers/store-probe.js";
import { waitFor } from "../conformance/helpers.js";
import { freePort } from "../harness/free-port.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";
import { startRedis, type RedisServerHandle } from "../harness/redis-server.js";

/**
 * The MessageDomain controller on a real kube-apiserver + kube-controller-manager, with a real Redis: the
 * ConfigMap and its owner reference, spec changes, drift repair, garbage collection, idempotence, CRD
 * validation, the Secret and store conditions, and the Events users see.
 */
const NAMESPACE = "bmn-domain-test";
const WAIT_MS = 20_000;
const GC_WAIT_MS = 60_000;

let controllers: RunningControllers | undefined;
let redis: RedisServerHandle | undefined;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
  observedGeneration?: number;
}
interface Obj {
  metadata: ObjectMetadata;
  data?: Record<string, string>;
  status?: {
    observedGeneration?: number;
    configMapName?: string;
    conditions?: Condition[];
    store?: { type: string; endpoint?: string; reachable?: boolean; lastProbeTime?: string };
  };
}

const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, eventsFor, errors } = kit;

function condition(object: Obj | undefined, type: string): Condition | undefined {
  return object?.status?.conditions?.find((c) => c.type === type);
}

/** Waits until the domain's status observed its generation and `type` has `reason`. */
async function untilCondition(name: string, type: string, reason: string): Promise<Obj> {
  return waitFor(
    async () => {
      const domain = await get("messagedomain", name);
      return domain?.status?.observedGeneration === domain?.metadata.generation &&
        condition(domain, type)?.reason === reason
        ? domain
        : undefined;
    },
    WAIT_MS,
    `${name}: ${type} ${reason}`,
  );
}

const messageDomain = (name: string, spec: object): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name },
  spec,
});

const redisDomain = (name: string, secret: string): object =>
  messageDomain(name, {
    store: { type: "redis", connection: { secretRef: { name: secret, key: "url" } } },
  });

const secret = (name: string, url: string): object => ({
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name },
  stringData: { url },
});

beforeAll(async () => {
  const [kubeConfig] = await Promise.all([kit.start(), startRedis().then((started) => (redis = started))]);
  controllers = await startControllers(kubeConfig, {
    namespace: NAMESPACE,
    resyncMs: 0,
    notReadyRequeueMs: 250,
    storeProbeIntervalMs: 500,
    storeProbe: connectingStoreProbe({ timeoutMs: 1_000 }),
    queue: { baseDelayMs: 100, maxDelayMs: 2_000 },
    onError: kit.onError,
  });
});

afterAll(async () => {
  await controllers?.stop();
  await Promise.all([kit.stop(), redis?.cleanup()]);
});

describe("MessageDomain controller on a real control plane", () => {
  it("publishes the ConfigMap of a domain deleted right away (garbage collection is checked last)", async () => {
    await mustApply(messageDomain("team-gc", {}));
    await waitFor(() => get("configmap", "bmn-domain-team-gc"), WAIT_MS, "the ConfigMap");
    // The garbage collector rediscovers resources every 30 s and may not watch the CRDs yet; the other
    // tests run while it catches up.
    const deleted = await kubectl(["delete", "-n", NAMESPACE, "messagedomain", "team-gc", "--wait=false"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
  });

  it("publishes the ConfigMap with an owner reference and reports a memory domain Ready", async () => {
    await mustApply(messageDomain("team-a", { delivery: { maxAttempts: 7 } }));
    const domain = await untilCondition("team-a", "Ready", "DomainReady");
    const configMap = await waitFor(() => get("configmap", "bmn-domain-team-a"), WAIT_MS, "the ConfigMap");
    expect(configMap.metadata.ownerReferences).toEqual([
      expect.objectContaining({
        kind: "MessageDomain",
        name: "team-a",
        uid: domain.metadata.uid,
        controller: true,
      }),
    ]);
    expect(parse(configMap.data?.["bmn.yaml"] ?? "")).toMatchObject({
      domain: "team-a",
      store: { type: "memory" },
      delivery: { maxAttempts: 7 },
    });
    expect(domain.status?.configMapName).toBe("bmn-domain-team-a");
    const generation = domain.metadata.generation;
    expect(domain.status?.conditions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ type: "Ready", status: "True", observedGeneration: generation }),
        expect.objectContaining({ type: "Progressing", status: "False", observedGeneration: generation }),
        expect.objectContaining({ type: "Degraded", status: "False", reason: "AsExpected" }),
        expect.objectContaining({ type: "SecretResolved", status: "True", reason: "NotRequired" }),
        expect.objectContaining({ type: "StoreReachable", status: "True", reason: "InMemory" }),
      ]),
    );
    const events = await waitFor(
      async () => {
        const list = await eventsFor("team-a");
        return list.some((e) => e.reason === "Created") ? list : undefined;
      },
      WAIT_MS,
      "the Created event",
    );
    expect(events).toContainEqual(
      expect.objectContaining({
        type: "Normal",
        reason: "Created",
        message: "created ConfigMap bmn-domain-team-a",
      }),
    );
  });

  it("follows a spec change into the ConfigMap", async () => {
    await mustApply(messageDomain("team-a", { delivery: { maxAttempts: 9 } }));
    await waitFor(
      async () => {
        const configMap = await get("configmap", "bmn-domain-team-a");
        const config = parse(configMap?.data?.["bmn.yaml"] ?? "{}") as {
          delivery?: { maxAttempts?: number };
        };
        return config.delivery?.maxAttempts === 9;
      },
      WAIT_MS,
      "the ConfigMap to say maxAttempts 9",
    );
    const domain = await untilCondition("team-a", "Ready", "DomainReady");
    expect(condition(domain, "Ready")?.observedGeneration).toBe(domain.metadata.generation);
    expect((await eventsFor("team-a")).filter((e) => e.reason === "Updated")).not.toEqual([]);
  });

  it("brings back a ConfigMap deleted by hand", async () => {
    const before = await get("configmap", "bmn-domain-team-a");
    const deleted = await kubectl([
      "delete",
      "-n",
      NAMESPACE,
      "configmap",
      "bmn-domain-team-a",
      "--wait=false",
    ]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    await waitFor(
      async () => {
        const configMap = await get("configmap", "bmn-domain-team-a");
        return configMap !== undefined && configMap.metadata.uid !== before?.metadata.uid;
      },
      WAIT_MS,
      "the ConfigMap to be recreated",
    );
  });

  it("writes nothing when reconciled twice", async () => {
    const kubeConfig = kit.kubeConfig();
    const reconciler = new MessageDomainReconciler(kubeConfig);
    await reconciler.reconcile(NAMESPACE, "team-a");
    const [domainBefore, configMapBefore] = await Promise.all([
      get("messagedomain", "team-a"),
      get("configmap", "bmn-domain-team-a"),
    ]);
    const eventsBefore = (await eventsFor("team-a")).length;
    expect(await reconciler.reconcile(NAMESPACE, "team-a")).toEqual({ found: true, statusWritten: false });
    expect((await get("messagedomain", "team-a"))?.metadata.resourceVersion).toBe(
      domainBefore?.metadata.resourceVersion,
    );
    expect((await get("configmap", "bmn-domain-team-a"))?.metadata.resourceVersion).toBe(
      configMapBefore?.metadata.resourceVersion,
    );
    expect(await eventsFor("team-a")).toHaveLength(eventsBefore);
  });

  it("is refused by the apiserver when a redis store has no connection, naming the field", async () => {
    const result = await kubectl(
      ["apply", "-n", NAMESPACE, "-f", "-"],
      JSON.stringify(messageDomain("no-connection", { store: { type: "redis" } })),
    );
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("spec.store.connection");
    expect(result.stderr).toContain("connection is required when the store type is redis or sql");
  });

  it("reports a missing Secret, then a reachable real Redis once the Secret exists", async () => {
    await mustApply(redisDomain("team-r", "redis-url"));
    const missing = await untilCondition("team-r", "SecretResolved", "SecretNotFound");
    expect(condition(missing, "SecretResolved")).toMatchObject({ status: "False" });
    expect(condition(missing, "StoreReachable")).toMatchObject({ status: "Unknown" });
    expect(condition(missing, "Ready")).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(condition(missing, "Degraded")).toMatchObject({ status: "True", reason: "SecretNotFound" });
    // The ConfigMap is published even so: sidecars read the URL from the Secret, not from it.
    await waitFor(() => get("configmap", "bmn-domain-team-r"), WAIT_MS, "the ConfigMap");

    // Requeued every 250 ms while the Secret is missing, yet one Warning only: events follow changes.
    const kubeConfig = kit.kubeConfig();
    await new MessageDomainReconciler(kubeConfig).reconcile(NAMESPACE, "team-r");
    const warnings = (await eventsFor("team-r")).filter((e) => e.reason === "SecretNotFound");
    expect(warnings).toEqual([expect.objectContaining({ type: "Warning" })]);

    await mustApply(secret("redis-url", redis?.url ?? ""));
    const ready = await untilCondition("team-r", "Ready", "DomainReady");
    expect(condition(ready, "SecretResolved")).toMatchObject({ status: "True", reason: "SecretFound" });
    expect(condition(ready, "StoreReachable")).toMatchObject({ status: "True", reason: "StoreAnswered" });
    // The store URL stays out of the status.
    expect(JSON.stringify(ready.status)).not.toContain(redis?.url ?? "-");
    await waitFor(
      async () => (await eventsFor("team-r")).some((e) => e.reason === "Recovered" && e.type === "Normal"),
      WAIT_MS,
      "the Recovered event",
    );
  });

  it("reports an unreachable store when the Secret points at a closed port", async () => {
    const port = await freePort();
    await mustApply(secret("closed-url", `redis://127.0.0.1:${port}`));
    await mustApply(redisDomain("team-closed", "closed-url"));
    const unreachable = await untilCondition("team-closed", "StoreReachable", "StoreUnreachable");
    expect(condition(unreachable, "StoreReachable")?.status).toBe("False");
    expect(condition(unreachable, "StoreReachable")?.message).toMatch(/ECONNREFUSED|did not answer/);
    expect(condition(unreachable, "Ready")).toMatchObject({ status: "False", reason: "StoreUnreachable" });
    await waitFor(
      async () =>
        (await eventsFor("team-closed")).some((e) => e.reason === "StoreUnreachable" && e.type === "Warning"),
      WAIT_MS,
      "the StoreUnreachable event",
    );

    // Pointing the Secret at the real Redis: the periodic requeue notices without any watch event.
    await mustApply(secret("closed-url", redis?.url ?? ""));
    await untilCondition("team-closed", "StoreReachable", "StoreAnswered");
  });

  it("turns Ready=False when a healthy domain's Redis dies: the store is probed again on an interval", async () => {
    const doomed = await startRedis();
    try {
      await mustApply(secret("doomed-url", doomed.url));
      await mustApply(redisDomain("team-stale", "doomed-url"));
      const ready = await untilCondition("team-stale", "Ready", "DomainReady");
      const endpoint = new URL(doomed.url).host;
      expect(ready.status?.store).toMatchObject({ type: "redis", endpoint, reachable: true });
      expect(ready.status?.store?.lastProbeTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    } finally {
      await doomed.cleanup();
    }
    // No watch event: only the probe interval can notice.
    const stale = await untilCondition("team-stale", "Ready", "StoreUnreachable");
    expect(condition(stale, "Ready")?.status).toBe("False");
    expect(stale.status?.store).toMatchObject({ type: "redis", reachable: false });
    await waitFor(
      async () =>
        (await eventsFor("team-stale")).some((e) => e.reason === "StoreUnreachable" && e.type === "Warning"),
      WAIT_MS,
      "the StoreUnreachable event",
    );
  });

  it(
    "leaves the ConfigMap to garbage collection when the MessageDomain is deleted",
    { timeout: 90_000 },
    async () => {
      await waitFor(
        async () => (await get("configmap", "bmn-domain-team-gc")) === undefined,
        GC_WAIT_MS,
        "the garbage collector to delete the ConfigMap",
      );
      // A watch may start while the apiserver's storage is still initializing (429); the controller retries it.
      expect(errors.filter((e) => !/HTTP-Code: 429|conflict/i.test(e))).toEqual([]);
    },
  );
});
