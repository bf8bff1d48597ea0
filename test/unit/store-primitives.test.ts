import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { BmnError, LeaseError, StoreUnavailableError, TransactionError } from "../../core/errors.js";
import { backoffCeilingMs, fullJitterBackoffMs } from "../../runtime/resilience/backoff.js";
import { formatLeaseId, parseLeaseId } from "../../store/lease-id.js";
import { TransactionBuffer } from "../../store/transaction-buffer.js";
import type { AgentName } from "../../core/names.js";
import type { MessageId } from "../../core/ids.js";

describe("backoff", () => {
  it("doubles per attempt up to the cap", () => {
    expect([1, 2, 3, 4, 5].map((attempt) => backoffCeilingMs(attempt, 100, 1_000))).toEqual([
      100, 200, 400, 800, 1_000,
    ]);
  });

  it("full jitter stays within [0, ceiling] and reaches both ends", () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 40 }),
        fc.double({ min: 0, max: 0.999_999, noNaN: true }),
        (attempt, r) => {
          const delay = fullJitterBackoffMs(attempt, 50, 10_000, () => r);
          return delay >= 0 && delay <= backoffCeilingMs(attempt, 50, 10_000) && Number.isInteger(delay);
        },
      ),
    );
    expect(fullJitterBackoffMs(3, 50, 10_000, () => 0)).toBe(0);
    expect(fullJitterBackoffMs(3, 50, 10_000, () => 0.999_999_9)).toBe(200);
  });
});

describe("lease ids", () => {
  it("round-trip agent, message id (which may contain dots) and token", () => {
    const lease = { agent: "agent-1" as AgentName, id: "a.b.c" as MessageId, token: "42" };
    expect(parseLeaseId(formatLeaseId(lease))).toEqual(lease);
  });

  it.each(["", "x", "agent.id", "Agent.id.1", "agent..1", "agent.id.x", "agent.i{d}.1", "a*.id.1", 42, null])(
    "rejects %j as LEASE_NOT_FOUND",
    (value) => {
      expect(() => parseLeaseId(value)).toThrow(LeaseError);
      try {
        parseLeaseId(value);
      } catch (error) {
        expect((error as BmnError).code).toBe("LEASE_NOT_FOUND");
      }
    },
  );
});

describe("errors", () => {
  it("carry a stable code, an HTTP status, the field and the cause", () => {
    const cause = new Error("ECONNREFUSED");
    const error = new StoreUnavailableError("redis is unavailable", { cause, field: "store" });
    expect(error).toBeInstanceOf(BmnError);
    expect(error.name).toBe("StoreUnavailableError");
    expect(error.status).toBe(503);
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      errorCode: "STORE_UNAVAILABLE",
      message: "redis is unavailable",
      field: "store",
    });
    expect(new TransactionError("TX_CONFLICT", "x").status).toBe(409);
  });
});

describe("transaction buffer", () => {
  it("rolls back to a savepoint, keeping it, and forgets a finished transaction", () => {
    const buffer = new TransactionBuffer(60_000);
    const tx = buffer.begin();
    const ack = (token: string) => ({
      kind: "ack" as const,
      lease: { agent: "a" as AgentName, id: "m" as MessageId, token },
    });
    buffer.add(tx, ack("1"));
    const outer = buffer.savepoint(tx);
    buffer.add(tx, ack("2"));
    const inner = buffer.savepoint(tx);
    buffer.add(tx, ack("3"));
    buffer.rollbackTo(tx, outer);
    expect(() => {
      buffer.rollbackTo(tx, inner);
    }).toThrow(TransactionError);
    buffer.add(tx, ack("4"));
    expect(buffer.take(tx).map((op) => (op.kind === "ack" ? op.lease.token : ""))).toEqual(["1", "4"]);
    expect(() => {
      buffer.take(tx);
    }).toThrow(TransactionError);
    buffer.close();
  });
});
