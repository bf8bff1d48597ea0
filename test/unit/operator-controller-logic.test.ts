import type { KubernetesObject } from "@kubernetes/client-node";
import { afterEach, describe, expect, it, vi } from "vitest";
import { followDataPlaneReadiness, followDomain } from "../../operator/controllers/definitions.js";
import { resourcePath } from "../../operator/controllers/informer-pool.js";
import { ownerKey } from "../../operator/controllers/object-keys.js";
import { WorkQueue } from "../../operator/controllers/work-queue.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("the work queue's delayed requeue", () => {
  /** A queue on fake timers that records the keys it runs. */
  const recordingQueue = (): { queue: WorkQueue; runs: string[] } => {
    vi.useFakeTimers();
    const runs: string[] = [];
    const queue = new WorkQueue((key) => {
      runs.push(key);
      return Promise.resolve();
    });
    return { queue, runs };
  };

  it("runs a key again after the delay, once, and add() replaces a pending delay", async () => {
    const { queue, runs } = recordingQueue();
    queue.addAfter("ns/a", 1_000);
    queue.addAfter("ns/a", 5_000); // the pending timer is kept
    await vi.advanceTimersByTimeAsync(999);
    expect(runs).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toEqual(["ns/a"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(runs).toEqual(["ns/a"]);

    queue.addAfter("ns/b", 1_000);
    queue.add("ns/b");
    await vi.advanceTimersByTimeAsync(0);
    expect(runs).toEqual(["ns/a", "ns/b"]);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toEqual(["ns/a", "ns/b"]);
    await queue.stop();
  });

  it("drops delayed keys on stop", async () => {
    const { queue, runs } = recordingQueue();
    queue.addAfter("ns/a", 1_000);
    expect(queue.size).toBe(1);
    await queue.stop();
    await vi.advanceTimersByTimeAsync(2_000);
    expect(runs).toEqual([]);
  });
});

/** The client's types are classes; plain objects stand in for what the informer delivers. */
const asObject = (value: unknown): KubernetesObject => value as KubernetesObject;
const object = (namespace: string, name: string, extra: object = {}): KubernetesObject =>
  asObject({ metadata: { namespace, name, generation: 1 }, ...extra });

describe("requeueing what names a MessageDomain", () => {
  const primaries = [
    object("a", "reviewer", { spec: { domain: "team-a" } }),
    object("a", "other", { spec: { domain: "team-b" } }),
    object("b", "elsewhere", { spec: { domain: "team-a" } }),
  ];

  it("picks the resources of the domain's namespace that name it", () => {
    const related = followDomain();
    expect(related.keys(object("a", "team-a"), "add", primaries)).toEqual(["a/reviewer"]);
    expect(related.keys(object("a", "team-c"), "add", primaries)).toEqual([]);
  });

  it("ignores status-only updates (same generation) but not spec changes or deletion", () => {
    const related = followDomain();
    related.keys(object("a", "team-a"), "add", primaries);
    expect(related.keys(object("a", "team-a"), "update", primaries)).toEqual([]);
    const changed = asObject({ metadata: { namespace: "a", name: "team-a", generation: 2 } });
    expect(related.keys(changed, "update", primaries)).toEqual(["a/reviewer"]);
    expect(related.keys(changed, "delete", primaries)).toEqual(["a/reviewer"]);
  });
});

describe("re-probing a domain's store when its data plane loses a ready pod", () => {
  // null: no domain label.
  const deployment = (ready: number | undefined, domain: string | null = "team-a"): KubernetesObject =>
    asObject({
      metadata: {
        namespace: "a",
        name: "reviewer",
        ...(domain === null ? {} : { labels: { "beastmode.network/domain": domain } }),
      },
      ...(ready === undefined ? {} : { status: { readyReplicas: ready } }),
    });

  it("requeues the domain when readyReplicas drops, not when it holds or rises", () => {
    const related = followDataPlaneReadiness();
    expect(related.keys(deployment(2), "add", [])).toEqual([]);
    expect(related.keys(deployment(3), "update", [])).toEqual([]);
    expect(related.keys(deployment(3), "update", [])).toEqual([]);
    expect(related.keys(deployment(1), "update", [])).toEqual(["a/team-a"]);
    expect(related.keys(deployment(undefined), "update", [])).toEqual(["a/team-a"]);
    expect(related.keys(deployment(0), "delete", [])).toEqual([]);
  });

  it("ignores Deployments without a domain label", () => {
    const related = followDataPlaneReadiness();
    related.keys(deployment(2, null), "add", []);
    expect(related.keys(deployment(0, null), "update", [])).toEqual([]);
  });
});

describe("watch paths and owners", () => {
  it("builds core and group paths, namespaced or not", () => {
    expect(resourcePath({ apiVersion: "v1", plural: "configmaps" })).toBe("/api/v1/configmaps");
    expect(resourcePath({ apiVersion: "apps/v1", plural: "deployments" }, "ns")).toBe(
      "/apis/apps/v1/namespaces/ns/deployments",
    );
  });

  it("maps a child to its controlling owner of the given kind", () => {
    const child = asObject({
      metadata: {
        namespace: "ns",
        ownerReferences: [
          {
            apiVersion: "beastmode.network/v1alpha1",
            kind: "Gateway",
            name: "edge",
            uid: "u",
            controller: true,
          },
        ],
      },
    });
    expect(ownerKey(child, "Gateway")).toBe("ns/edge");
    expect(ownerKey(child, "AgentEndpoint")).toBeUndefined();
  });
});
