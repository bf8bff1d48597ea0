import { describe, expect, it } from "vitest";
import { checkHistory } from "../../e2e/history/checker.js";
import { History, type Completion, type Delivered } from "../../e2e/history/history.js";

/** Builds a history on a clock the test moves by hand. */
function scripted(): {
  history: History;
  at: (ms: number) => void;
  send: (id: string, result: Completion) => void;
  receive: (deliveries: Delivered[], leaseMs?: number) => void;
  ack: (delivered: Delivered, result: Completion) => void;
  nack: (delivered: Delivered, result: Completion) => void;
} {
  let now = 0;
  const history = new History(() => now);
  const settle = (kind: "ack" | "nack", delivered: Delivered, result: Completion): void => {
    history.invoke(kind, "w", delivered).complete(result);
  };
  return {
    history,
    at: (ms) => {
      now = ms;
    },
    send: (id, result) => {
      history.invoke("send", "w", { messageId: id }).complete(result);
    },
    receive: (deliveries, leaseMs = 1_000) => {
      history.invoke("receive", "w", { leaseMs }).complete("ok", { deliveries });
    },
    ack: (delivered, result) => {
      settle("ack", delivered, result);
    },
    nack: (delivered, result) => {
      settle("nack", delivered, result);
    },
  };
}

const m1a = { messageId: "m1", leaseId: "L1a" };
const m1b = { messageId: "m1", leaseId: "L1b" };

describe("history checker", () => {
  it("passes a clean history: sent, delivered, acked once", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.at(10);
    h.receive([m1a]);
    h.at(20);
    h.ack(m1a, "ok");
    const result = checkHistory(h.history.events);
    expect(result.counts).toEqual({
      sentOk: 1,
      sentFail: 0,
      sentUnknown: 0,
      delivered: 1,
      acked: 1,
      lost: 0,
      duplicatedAfterAck: 0,
      unexpected: 0,
      recovered: 0,
      fencedViolations: 0,
    });
  });

  it("flags an ok send that is never acked as lost", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.send("m2", "ok");
    h.receive([{ messageId: "m2", leaseId: "L2" }]);
    h.ack({ messageId: "m2", leaseId: "L2" }, "ok");
    expect(checkHistory(h.history.events).lost).toEqual(["m1"]);
  });

  it("flags a message delivered but acked only with a refused ack as lost", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a]);
    h.ack(m1a, "fail");
    expect(checkHistory(h.history.events).lost).toEqual(["m1"]);
  });

  it("does not call a message lost whose ack was unknown (it may have landed)", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a]);
    h.history.invoke("ack", "w", m1a); // never completes: the sidecar died mid-ack
    expect(checkHistory(h.history.events).counts).toMatchObject({ lost: 0, acked: 0 });
  });

  it("flags a redelivery after an ok ack as a duplicate, not one after a nack or a refused ack", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a]);
    h.at(5);
    h.nack(m1a, "ok");
    h.at(10);
    h.receive([m1b]);
    h.at(20);
    h.ack(m1b, "ok");
    expect(checkHistory(h.history.events).counts.duplicatedAfterAck).toBe(0);
    h.at(30);
    h.receive([{ messageId: "m1", leaseId: "L1c" }]);
    expect(checkHistory(h.history.events).duplicatedAfterAck).toEqual(["m1"]);
  });

  it("does not flag a delivery whose receive overlapped the ack", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a]);
    const receive = h.history.invoke("receive", "w", { leaseMs: 1_000 });
    h.at(10);
    h.ack(m1a, "ok");
    h.at(20);
    receive.complete("ok", { deliveries: [m1b] });
    expect(checkHistory(h.history.events).counts.duplicatedAfterAck).toBe(0);
  });

  it("flags deliveries of messages never sent, or sent with fail, as unexpected", () => {
    const h = scripted();
    h.send("failed", "fail");
    h.receive([
      { messageId: "never-sent", leaseId: "L1" },
      { messageId: "failed", leaseId: "L2" },
    ]);
    const result = checkHistory(h.history.events);
    expect(result.unexpected.sort()).toEqual(["failed", "never-sent"]);
    expect(result.counts.sentFail).toBe(1);
  });

  it("counts an unknown send that shows up as recovered, and one that does not as neither lost nor recovered", () => {
    const h = scripted();
    h.send("landed", "unknown");
    h.history.invoke("send", "w", { messageId: "vanished" }); // no answer at all
    h.receive([{ messageId: "landed", leaseId: "L1" }]);
    h.ack({ messageId: "landed", leaseId: "L1" }, "ok");
    const result = checkHistory(h.history.events);
    expect(result.recovered).toEqual(["landed"]);
    expect(result.counts).toMatchObject({ sentUnknown: 2, lost: 0, unexpected: 0, recovered: 1 });
  });

  it("flags an ok ack on a lease superseded by a newer delivery (fencing)", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a], 1_000);
    h.at(1_500);
    h.receive([m1b], 1_000); // the first lease expired and the message went to another consumer
    h.at(1_600);
    h.ack(m1a, "ok"); // must have been refused
    h.ack(m1b, "ok");
    expect(checkHistory(h.history.events).fenced).toEqual([
      { messageId: "m1", leaseId: "L1a", why: "superseded" },
    ]);
  });

  it("accepts a refused stale ack and flags none", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.receive([m1a], 1_000);
    h.at(1_500);
    h.receive([m1b], 1_000);
    h.at(1_600);
    h.ack(m1a, "fail");
    h.ack(m1b, "ok");
    expect(checkHistory(h.history.events).counts).toMatchObject({ fencedViolations: 0, lost: 0 });
  });

  it("flags an ok ack invoked well after its lease ran out (expired), but not one within the margin", () => {
    const h = scripted();
    h.send("m1", "ok");
    h.send("m2", "ok");
    const m2 = { messageId: "m2", leaseId: "L2" };
    h.receive([m1a, m2], 1_000);
    h.at(1_500);
    h.ack(m2, "ok"); // within lease + 1 s margin
    h.at(2_500);
    h.ack(m1a, "ok");
    expect(checkHistory(h.history.events).fenced).toEqual([
      { messageId: "m1", leaseId: "L1a", why: "expired" },
    ]);
  });

  it("refuses a history with a completion that has no invoke", () => {
    expect(() =>
      checkHistory([{ type: "ok", op: 7, kind: "send", worker: "w", at: 0, messageId: "m" }]),
    ).toThrow(/without an invoke/);
  });
});
