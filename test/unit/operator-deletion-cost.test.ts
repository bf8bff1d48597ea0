import { describe, expect, it } from "vitest";
import { leasesHeld, ownedByReplicaSet } from "../../operator/scale-down/deletion-cost.js";

// The operator reads each agent pod's sidecar metrics to set pod-deletion-cost (docs/autoscaling.md).

describe("the leases a sidecar reports", () => {
  it("reads bmn_sidecar_leases_held from Prometheus text", () => {
    const text = [
      "# HELP bmn_sidecar_leases_held Leases this sidecar handed out",
      "# TYPE bmn_sidecar_leases_held gauge",
      "bmn_sidecar_leases_held 7",
      'bmn_queue_depth{agent="worker"} 120',
    ].join("\n");
    expect(leasesHeld(text)).toBe(7);
  });

  it("is undefined when the gauge is missing, and never exceeds the cost bound", () => {
    expect(leasesHeld('bmn_queue_depth{agent="worker"} 120')).toBeUndefined();
    expect(leasesHeld("bmn_sidecar_leases_held_total 3")).toBeUndefined();
    expect(leasesHeld("bmn_sidecar_leases_held 99999999999")).toBe(1_000_000);
  });
});

describe("the pods whose deletion cost the operator sets", () => {
  const owner = (kind: string, controller: boolean) => ({ apiVersion: "apps/v1", kind, controller });

  it("are a ReplicaSet's: a bare pod that only carries the labels is left alone", () => {
    expect(ownedByReplicaSet([owner("ReplicaSet", true)])).toBe(true);
    expect(ownedByReplicaSet(undefined)).toBe(false);
    expect(ownedByReplicaSet([owner("ReplicaSet", false)])).toBe(false);
    expect(ownedByReplicaSet([owner("StatefulSet", true)])).toBe(false);
  });
});
