import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startControllers, type RunningControllers } from "../../operator/controllers/start-controllers.js";
import { waitFor } from "../conformance/helpers.js";
import { operatorTestKit, type ObjectMetadata } from "../harness/operator-test-kit.js";

/**
 * BMN never adopts or changes an object it did not create, and every child the apiserver refuses shows on the
 * owner: on a real kube-apiserver + kube-controller-manager, a user's Service, Deployment and ConfigMap named
 * like BMN's children are left untouched while the owner reports `Ready=False` `NameConflict` with an Event;
 * a child the apiserver refuses (422, and the 500 of an unparsable quantity) becomes `ApplyFailed` with the
 * apiserver's message and an Event; both recover once the cause is gone (the queue retries with backoff).
 */
const NAMESPACE = "bmn-operator-conflict";
const WAIT_MS = 20_000;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}
interface Obj {
  metadata: ObjectMetadata & { labels?: Record<string, string>; annotations?: Record<string, string> };
  spec?: { selector?: unknown; replicas?: number };
  data?: Record<string, string>;
  status?: { conditions?: Condition[] };
}

let controller: RunningControllers | undefined;
let serviceVersion: string | undefined;
const GC_WAIT_MS = 75_000;
const kit = operatorTestKit<Obj>(NAMESPACE);
const { kubectl, get, mustApply, eventsFor } = kit;

const domain = (name: string): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "MessageDomain",
  metadata: { name },
  spec: { sidecarImage: "registry.example/bmn:test" },
});

const endpoint = (name: string, container: object, service = false): object => ({
  apiVersion: "beastmode.network/v1alpha1",
  kind: "AgentEndpoint",
  metadata: { name },
  spec: {
    domain: "team-a",
    agent: name,
    template: { spec: { containers: [container] } },
    ...(service ? { service: { port: 8080 } } : {}),
  },
});

const userService = (name: string): object => ({
  apiVersion: "v1",
  kind: "Service",
  metadata: { name, labels: { owner: "user" } },
  spec: { selector: { app: "users-own" }, ports: [{ port: 80 }] },
});

const userDeployment = (name: string): object => ({
  apiVersion: "apps/v1",
  kind: "Deployment",
  metadata: { name },
  spec: {
    replicas: 0,
    selector: { matchLabels: { app: "users-own" } },
    template: {
      metadata: { labels: { app: "users-own" } },
      spec: { containers: [{ name: "main", image: "registry.example/user:1" }] },
    },
  },
});

/** Waits until the resource's Ready condition has `reason`, and returns that condition. */
async function readyWithReason(kind: string, name: string, reason: string): Promise<Condition> {
  return await waitFor(
    async () => {
      const ready = (await get(kind, name))?.status?.conditions?.find((c) => c.type === "Ready");
      return ready?.reason === reason ? ready : undefined;
    },
    WAIT_MS,
    `${kind} ${name} Ready reason ${reason}`,
  );
}

async function warningEvent(name: string, reason: string): Promise<void> {
  await waitFor(
    async () => (await eventsFor(name)).some((e) => e.type === "Warning" && e.reason === reason),
    WAIT_MS,
    `a Warning ${reason} Event on ${name}`,
  );
}

beforeAll(async () => {
  controller = await startControllers(await kit.start(), {
    namespace: NAMESPACE,
    resyncMs: 0,
    queue: { baseDelayMs: 100, maxDelayMs: 1_000 },
    onError: kit.onError,
  });
  await mustApply(domain("team-a"));
});

afterAll(async () => {
  await controller?.stop();
  await kit.stop();
});

describe("name conflicts and refused children on a real control plane", () => {
  it("leaves a user's Service untouched, reports NameConflict, and does not let garbage collection take it", async () => {
    await mustApply(userService("reviewer"));
    const before = await get("service", "reviewer");
    await mustApply(endpoint("reviewer", { name: "agent", image: "registry.example/agent:1" }, true));

    const ready = await readyWithReason("agentendpoint", "reviewer", "NameConflict");
    expect(ready.status).toBe("False");
    expect(ready.message).toContain("Service reviewer already exists");
    await warningEvent("reviewer", "NameConflict");
    const after = await get("service", "reviewer");
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.metadata.ownerReferences).toBeUndefined();
    expect(after?.spec?.selector).toEqual({ app: "users-own" });

    // The Deployment BMN created before the Service is BMN's: garbage collection takes it with the
    // AgentEndpoint, and leaves the user's Service (checked last: the collector may not watch the CRDs yet).
    const deployment = await waitFor(() => get("deployment", "reviewer"), WAIT_MS, "BMN's Deployment");
    expect(deployment.metadata.ownerReferences?.[0]?.kind).toBe("AgentEndpoint");
    serviceVersion = before?.metadata.resourceVersion;
    const deleted = await kubectl(["delete", "-n", NAMESPACE, "agentendpoint", "reviewer", "--wait=false"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
  });

  it("leaves a user's Deployment untouched (no immutable-selector error) and recovers once it is gone", async () => {
    await mustApply(userDeployment("builder"));
    const before = await get("deployment", "builder");
    await mustApply(endpoint("builder", { name: "agent", image: "registry.example/agent:1" }));
    const ready = await readyWithReason("agentendpoint", "builder", "NameConflict");
    expect(ready.message).toContain("Deployment builder already exists");
    expect(ready.message).not.toMatch(/immutable/i);
    await warningEvent("builder", "NameConflict");
    const after = await get("deployment", "builder");
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.metadata.ownerReferences).toBeUndefined();

    const deleted = await kubectl(["delete", "-n", NAMESPACE, "deployment", "builder", "--wait=true"]);
    expect(deleted, deleted.stderr).toMatchObject({ code: 0 });
    const owned = await waitFor(
      async () => {
        const deployment = await get("deployment", "builder");
        return deployment?.metadata.ownerReferences?.[0]?.kind === "AgentEndpoint" ? deployment : undefined;
      },
      WAIT_MS,
      "BMN's Deployment after the user's was deleted",
    );
    expect(owned.metadata.uid).not.toBe(before?.metadata.uid);
    await waitFor(
      async () =>
        (await get("agentendpoint", "builder"))?.status?.conditions?.find((c) => c.type === "Degraded")
          ?.status === "False",
      WAIT_MS,
      "Degraded=False after the conflict is gone",
    );
  });

  it("leaves a user's ConfigMap named like a domain's untouched", async () => {
    await mustApply({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "bmn-domain-team-b" },
      data: { mine: "yes" },
    });
    const before = await get("configmap", "bmn-domain-team-b");
    await mustApply(domain("team-b"));
    const ready = await readyWithReason("messagedomain", "team-b", "NameConflict");
    expect(ready.message).toContain("ConfigMap bmn-domain-team-b already exists");
    await warningEvent("team-b", "NameConflict");
    const after = await get("configmap", "bmn-domain-team-b");
    expect(after?.metadata.resourceVersion).toBe(before?.metadata.resourceVersion);
    expect(after?.data).toEqual({ mine: "yes" });
  });

  it("reports a child the apiserver refuses with 422 as ApplyFailed with the apiserver's message", async () => {
    await mustApply(endpoint("badname", { name: "Bad_Name", image: "registry.example/agent:1" }));
    const ready = await readyWithReason("agentendpoint", "badname", "ApplyFailed");
    expect(ready.status).toBe("False");
    expect(ready.message).toContain("HTTP 422");
    expect(ready.message).toContain("Bad_Name");
    await warningEvent("badname", "ApplyFailed");
    expect(await get("deployment", "badname")).toBeUndefined();

    // Fixed spec: the next retry applies it.
    await mustApply(endpoint("badname", { name: "agent", image: "registry.example/agent:1" }));
    await waitFor(() => get("deployment", "badname"), WAIT_MS, "the Deployment once the spec is fixed");
  });

  it("reports an unparsable resource quantity as ApplyFailed with the apiserver's message", async () => {
    await mustApply(
      endpoint("lots", {
        name: "agent",
        image: "registry.example/agent:1",
        resources: { requests: { cpu: "lots" } },
      }),
    );
    const ready = await readyWithReason("agentendpoint", "lots", "ApplyFailed");
    expect(ready.message).toMatch(/quantit/i);
    await warningEvent("lots", "ApplyFailed");
  });

  it(
    "lets garbage collection take BMN's children of a deleted AgentEndpoint and leaves the user's Service",
    { timeout: 90_000 },
    async () => {
      await waitFor(
        async () => (await get("deployment", "reviewer")) === undefined,
        GC_WAIT_MS,
        "garbage collection of BMN's Deployment",
      );
      const service = await get("service", "reviewer");
      expect(service?.metadata.resourceVersion).toBe(serviceVersion);
      expect(service?.metadata.ownerReferences).toBeUndefined();
    },
  );
});
