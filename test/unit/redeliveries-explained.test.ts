import { describe, expect, it } from "vitest";
import { describeRedeliveries, explainRedeliveries } from "../../e2e/pods/redeliveries.js";

// How the real-pod suite explains redeliveries from the store's traces (e2e/pods/redeliveries.ts).

const accepted = [{ kind: "accepted" }, { kind: "enqueued" }];

describe("explaining redeliveries from traces", () => {
  it("counts no redelivery for messages leased once", () => {
    const report = explainRedeliveries([
      { id: "a-1", events: [...accepted, { kind: "leased", attempt: 1 }, { kind: "acked", attempt: 1 }] },
    ]);
    expect(report).toEqual({ redeliveries: [], unexplained: [], untraced: [] });
    expect(describeRedeliveries(report)).toBe("0 redeliveries");
  });

  it("explains a lease given back by a sidecar shutting down and one that ran out", () => {
    const report = explainRedeliveries([
      {
        id: "a-1",
        events: [
          ...accepted,
          { kind: "leased", attempt: 1 },
          { kind: "nacked", attempt: 1, reason: "sidecar shutting down" },
          { kind: "leased", attempt: 2 },
          { kind: "acked", attempt: 2 },
        ],
      },
      {
        id: "a-2",
        events: [
          ...accepted,
          { kind: "leased", attempt: 1 },
          { kind: "lease-expired", attempt: 1 },
          { kind: "leased", attempt: 2 },
        ],
      },
    ]);
    expect(report.unexplained).toEqual([]);
    expect(report.redeliveries.map((r) => [r.id, r.attempt, r.cause])).toEqual([
      ["a-1", 2, "given back by a sidecar shutting down"],
      ["a-2", 2, "lease ran out"],
    ]);
    expect(describeRedeliveries(report)).toBe(
      "2 redeliveries: 1 given back by a sidecar shutting down, 1 lease ran out",
    );
  });

  it("finds the end of the attempt by its number, wherever the trace lists it", () => {
    const report = explainRedeliveries([
      {
        id: "a-1",
        events: [
          { kind: "leased", attempt: 1 },
          { kind: "leased", attempt: 2 },
          { kind: "nacked", attempt: 1, reason: "sidecar shutting down" },
        ],
      },
    ]);
    expect(report.unexplained).toEqual([]);
    expect(report.redeliveries[0]?.cause).toBe("given back by a sidecar shutting down");
  });

  it("leaves a nack for another reason, a lease with no end before it and a missing trace unexplained", () => {
    const report = explainRedeliveries([
      {
        id: "a-1",
        events: [
          { kind: "leased", attempt: 1 },
          { kind: "nacked", attempt: 1, reason: "agent failed" },
          { kind: "leased", attempt: 2 },
        ],
      },
      {
        id: "a-2",
        events: [
          { kind: "leased", attempt: 1 },
          { kind: "lease-expired", attempt: 1 },
          { kind: "leased", attempt: 2 },
          { kind: "leased", attempt: 3 },
        ],
      },
      { id: "a-3", events: undefined },
    ]);
    expect(report.unexplained.map((r) => [r.id, r.attempt, r.before?.reason])).toEqual([
      ["a-1", 2, "agent failed"],
      ["a-2", 3, undefined],
    ]);
    expect(report.untraced).toEqual(["a-3"]);
    expect(describeRedeliveries(report)).toBe("3 redeliveries: 2 UNEXPLAINED, 1 lease ran out");
  });
});
