import { describe, expect, it } from "vitest";
import type { Condition } from "../../core/crds/common.js";
import { messageDomainSpecSchema, type MessageDomainSpecInput } from "../../core/crds/message-domain.js";
import { gatewaySpecSchema } from "../../core/crds/gateway.js";
import { queueDepthMetricSpec } from "../../operator/builders/common.js";
import { buildGatewayChildren } from "../../operator/builders/gateway.js";
import { childEvent, conditionEvents } from "../../operator/status/condition-events.js";
import { blockedConditions, deploymentConditions } from "../../operator/status/deployment-conditions.js";
import { domainConditions, lookupSecret } from "../../operator/status/domain-conditions.js";
import { EventDeduper } from "../../operator/status/event-recorder.js";
import type { Gateway, MessageDomain } from "../../operator/k8s-types.js";
import { applyChange, controlledBy } from "../../operator/kube-objects.js";
import { nextStatus, statusEqual } from "../../operator/status/status-writer.js";

const spec = (input: MessageDomainSpecInput) => messageDomainSpecSchema.parse(input);
const redisSpec = spec({
  store: { type: "redis", connection: { secretRef: { name: "redis", key: "url" } } },
});
const base64 = (text: string): string => Buffer.from(text).toString("base64");

function byType(updates: readonly { type: string }[], type: string): unknown {
  return updates.find((update) => update.type === type);
}

describe("MessageDomain Secret and store conditions", () => {
  it("needs no Secret for a memory store, which is always reachable", () => {
    const memory = spec({});
    expect(lookupSecret(memory, undefined)).toEqual({ state: "notRequired" });
    const { updates, retry } = domainConditions(memory, { state: "notRequired" }, undefined);
    expect(retry).toBe(false);
    expect(byType(updates, "SecretResolved")).toMatchObject({ status: "True", reason: "NotRequired" });
    expect(byType(updates, "StoreReachable")).toMatchObject({ status: "True", reason: "InMemory" });
    expect(byType(updates, "Ready")).toMatchObject({ status: "True", reason: "DomainReady" });
    expect(byType(updates, "Degraded")).toMatchObject({ status: "False", reason: "AsExpected" });
  });

  it("reads the store URL from the Secret's base64 data, and tells a missing Secret from a missing key", () => {
    expect(lookupSecret(redisSpec, undefined)).toEqual({ state: "secretNotFound", name: "redis" });
    expect(lookupSecret(redisSpec, { data: { other: base64("x") } })).toEqual({
      state: "keyNotFound",
      name: "redis",
      key: "url",
    });
    expect(lookupSecret(redisSpec, { data: { url: base64("  \n") } })).toMatchObject({
      state: "keyNotFound",
    });
    expect(lookupSecret(redisSpec, { data: { url: base64("redis://r:6379\n") } })).toEqual({
      state: "resolved",
      name: "redis",
      key: "url",
      value: "redis://r:6379",
    });
  });

  it("is not Ready, is Degraded and asks to retry while the Secret is missing", () => {
    const { updates, retry } = domainConditions(
      redisSpec,
      { state: "secretNotFound", name: "redis" },
      undefined,
    );
    expect(retry).toBe(true);
    expect(byType(updates, "SecretResolved")).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(byType(updates, "StoreReachable")).toMatchObject({
      status: "Unknown",
      reason: "SecretNotResolved",
    });
    expect(byType(updates, "Ready")).toMatchObject({ status: "False", reason: "SecretNotFound" });
    expect(byType(updates, "Degraded")).toMatchObject({ status: "True", reason: "SecretNotFound" });
  });

  it("says so when RBAC does not let the operator read the Secret", () => {
    const { updates, retry } = domainConditions(redisSpec, { state: "forbidden", name: "redis" }, undefined);
    expect(retry).toBe(true);
    expect(byType(updates, "SecretResolved")).toMatchObject({
      status: "Unknown",
      reason: "SecretNotReadable",
    });
    expect(byType(updates, "Ready")).toMatchObject({ status: "False", reason: "SecretNotReadable" });
  });

  it("reports the store's answer, and never puts the URL in a message", () => {
    const resolved = {
      state: "resolved",
      name: "redis",
      key: "url",
      value: "redis://:secret@r:6379",
    } as const;
    const up = domainConditions(redisSpec, resolved, { reachable: true });
    expect(up.retry).toBe(false);
    expect(byType(up.updates, "StoreReachable")).toMatchObject({ status: "True", reason: "StoreAnswered" });
    const down = domainConditions(redisSpec, resolved, { reachable: false, error: "connect ECONNREFUSED" });
    expect(down.retry).toBe(true);
    expect(byType(down.updates, "StoreReachable")).toMatchObject({
      status: "False",
      reason: "StoreUnreachable",
      message: "connect ECONNREFUSED",
    });
    expect(byType(down.updates, "Ready")).toMatchObject({ status: "False", reason: "StoreUnreachable" });
    expect(JSON.stringify([up, down])).not.toContain("secret@");
  });
});

const condition = (type: string, status: Condition["status"], reason: string): Condition => ({
  type,
  status,
  reason,
  message: "",
  lastTransitionTime: "2026-01-01T00:00:00Z",
});

describe("Events from condition transitions", () => {
  const degraded = (reason: string) => ({
    type: "Degraded",
    status: "True" as const,
    reason,
    message: reason,
  });
  const fine = { type: "Degraded", status: "False" as const, reason: "AsExpected", message: "" };

  it("warns when a condition turns bad or changes its reason while bad, and only then", () => {
    expect(conditionEvents(undefined, [degraded("SecretNotFound")])).toEqual([
      { type: "Warning", reason: "SecretNotFound", message: "SecretNotFound" },
    ]);
    const before = [condition("Degraded", "True", "SecretNotFound")];
    expect(conditionEvents(before, [degraded("SecretNotFound")])).toEqual([]);
    expect(conditionEvents(before, [degraded("StoreUnreachable")])).toMatchObject([
      { type: "Warning", reason: "StoreUnreachable" },
    ]);
  });

  it("records a recovery, and nothing for a condition first seen in a good state", () => {
    expect(conditionEvents([condition("Degraded", "True", "DomainNotFound")], [fine])).toEqual([
      { type: "Normal", reason: "Recovered", message: "Degraded is False again (was DomainNotFound)" },
    ]);
    expect(conditionEvents(undefined, [fine])).toEqual([]);
    expect(conditionEvents([condition("Degraded", "False", "AsExpected")], [fine])).toEqual([]);
  });

  it("watches only the listed types; for them False is bad except for Degraded", () => {
    const update = {
      type: "StoreReachable",
      status: "False" as const,
      reason: "StoreUnreachable",
      message: "x",
    };
    expect(conditionEvents(undefined, [update])).toEqual([]);
    expect(conditionEvents(undefined, [update], ["StoreReachable"])).toMatchObject([{ type: "Warning" }]);
  });

  it("makes an event for a created, updated or deleted child, none for an unchanged one", () => {
    const child = { kind: "Service", metadata: { name: "edge", uid: "u1", resourceVersion: "7" } };
    expect(childEvent("unchanged", child)).toBeUndefined();
    expect(childEvent("created", child)).toEqual({
      type: "Normal",
      reason: "Created",
      message: "created Service edge",
      dedupeKey: "u1/7",
    });
    expect(childEvent("deleted", child)?.reason).toBe("Deleted");
  });

  it("drops an identical event within the window, and forgets it afterwards", () => {
    const deduper = new EventDeduper(1_000);
    expect(deduper.admit("a", 0)).toBe(true);
    expect(deduper.admit("a", 999)).toBe(false);
    expect(deduper.admit("b", 999)).toBe(true);
    expect(deduper.admit("a", 1_000)).toBe(true);
  });
});

describe("status and apply bookkeeping", () => {
  it("compares statuses regardless of key order", () => {
    expect(statusEqual({ a: 1, b: { c: 2, d: 3 } }, { b: { d: 3, c: 2 }, a: 1 })).toBe(true);
    expect(statusEqual({ a: 1 }, { a: 1, b: 2 })).toBe(false);
    expect(statusEqual(undefined, {})).toBe(false);
  });

  it("puts observedGeneration on the status and its conditions, keeping transition times on no change", () => {
    const target = {
      kind: "Gateway",
      metadata: { name: "edge", namespace: "ns", generation: 4 },
      status: { conditions: [condition("Ready", "False", "RolloutPending")] },
    };
    const status = nextStatus(
      target,
      [{ type: "Ready", status: "False", reason: "ReplicasNotReady", message: "0/2" }],
      { replicas: 2 },
      new Date("2026-02-02T00:00:00Z"),
    );
    expect(status).toEqual({
      observedGeneration: 4,
      replicas: 2,
      conditions: [
        {
          type: "Ready",
          status: "False",
          reason: "ReplicasNotReady",
          message: "0/2",
          lastTransitionTime: "2026-01-01T00:00:00Z",
          observedGeneration: 4,
        },
      ],
    });
  });

  it("tells what an apply did from the resourceVersion", () => {
    expect(applyChange(undefined, { metadata: { resourceVersion: "1" } })).toBe("created");
    expect(applyChange({ metadata: { resourceVersion: "1" } }, { metadata: { resourceVersion: "1" } })).toBe(
      "unchanged",
    );
    expect(applyChange({ metadata: { resourceVersion: "1" } }, { metadata: { resourceVersion: "2" } })).toBe(
      "updated",
    );
  });

  it("deletes only what the owner controls", () => {
    const child = {
      metadata: {
        ownerReferences: [{ apiVersion: "x", kind: "Gateway", name: "a", uid: "u1", controller: true }],
      },
    };
    expect(controlledBy(child, "u1")).toBe(true);
    expect(controlledBy(child, "u2")).toBe(false);
    expect(controlledBy({ metadata: {} }, "u1")).toBe(false);
  });
});

describe("Deployment conditions (shared by AgentEndpoint and Gateway)", () => {
  it("is Ready and done when every replica is updated and ready", () => {
    const { updates } = deploymentConditions(
      {
        metadata: { generation: 2 },
        status: { observedGeneration: 2, replicas: 2, updatedReplicas: 2, readyReplicas: 2 },
      },
      2,
    );
    expect(updates).toMatchObject([
      { type: "Ready", status: "True", reason: "ReplicasReady" },
      { type: "Progressing", status: "False", reason: "RolloutComplete" },
      { type: "Degraded", status: "False" },
    ]);
  });

  it("reports a Deployment past its progress deadline as Degraded", () => {
    const { updates } = deploymentConditions(
      {
        metadata: { generation: 1 },
        status: {
          observedGeneration: 1,
          conditions: [
            { type: "Progressing", status: "False", reason: "ProgressDeadlineExceeded", message: "m" },
          ],
        },
      },
      1,
    );
    expect(updates[2]).toEqual({
      type: "Degraded",
      status: "True",
      reason: "ProgressDeadlineExceeded",
      message: "m",
    });
  });

  it("blocks all three conditions with one reason", () => {
    expect(blockedConditions("DomainNotFound", "m").map((u) => [u.type, u.status, u.reason])).toEqual([
      ["Ready", "False", "DomainNotFound"],
      ["Progressing", "False", "DomainNotFound"],
      ["Degraded", "True", "DomainNotFound"],
    ]);
  });
});

describe("the gateway HPA's queue-depth metric", () => {
  const domain: MessageDomain = {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: { name: "team-a", namespace: "ns", uid: "d" },
    spec: spec({}),
  };
  const gateway: Gateway = {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: { name: "edge", namespace: "ns", uid: "g" },
    spec: gatewaySpecSchema.parse({ domain: "team-a", autoscaling: { maxReplicas: 4 } }),
  };

  it("is CPU only unless a metrics provider is configured", () => {
    const hpa = buildGatewayChildren(gateway, domain).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics.map((metric) => metric.type)).toEqual(["Resource"]);
  });

  it("adds a Pods or an External queue-depth metric when one is", () => {
    const hpa = buildGatewayChildren(gateway, domain, {
      queueDepthMetric: { type: "External", targetAverageValue: "50" },
    }).horizontalPodAutoscaler;
    expect(hpa?.spec.metrics[1]).toEqual({
      type: "External",
      external: {
        metric: {
          name: "bmn_gateway_queue_depth",
          selector: { matchLabels: { "beastmode.network/domain": "team-a" } },
        },
        target: { type: "AverageValue", averageValue: "50" },
      },
    });
    expect(queueDepthMetricSpec({ type: "Pods", name: "depth", targetAverageValue: "10" }, "team-a")).toEqual(
      {
        type: "Pods",
        pods: { metric: { name: "depth" }, target: { type: "AverageValue", averageValue: "10" } },
      },
    );
  });
});
