import type { Completion, HistoryEvent, OperationKind } from "./history.js";

/**
 * The checker: a pure function of a history (history.ts). It classifies every message id and checks that settling
 * a lease is fenced. Definitions (times are the invoke and completion times of the operations):
 *
 * - lost: a send answered ok, and by the end of the history no ack of any of the message's leases answered ok or
 *   unknown (so the message was neither delivered and acked nor possibly acked).
 * - duplicated after ack: a delivery of a message whose receive was invoked after an ack of another lease of
 *   the same message had answered ok. (Redelivery after an unknown or refused ack, a nack, or an expired lease is
 *   at-least-once, not a duplicate.)
 * - unexpected: delivered, but never sent, or every send of it answered fail.
 * - recovered: every send of it was unknown (no ok), and it was delivered: the ambiguous send did land.
 * - fenced violation: an ack that answered ok although its lease was
 *   - superseded: another lease of the same message was handed out by a receive invoked after this lease's
 *     receive completed, and that receive completed before this ack was invoked; or
 *   - expired: the ack was invoked more than `leaseMs + marginMs` after the receive of its lease completed
 *     (the lease cannot have been granted later than that completion).
 */

export interface CheckerOptions {
  /** Slack for the expired-lease check: clock reads and scheduling on a busy machine. */
  marginMs?: number;
}

export interface FencedViolation {
  messageId: string;
  leaseId: string;
  why: "superseded" | "expired";
}

export interface CheckCounts {
  sentOk: number;
  sentFail: number;
  sentUnknown: number;
  /** Distinct messages handed out at least once. */
  delivered: number;
  /** Distinct messages with an ack that answered ok. */
  acked: number;
  lost: number;
  duplicatedAfterAck: number;
  unexpected: number;
  recovered: number;
  fencedViolations: number;
}

export interface CheckResult {
  counts: CheckCounts;
  lost: string[];
  /** Message ids, once per offending delivery. */
  duplicatedAfterAck: string[];
  unexpected: string[];
  recovered: string[];
  fenced: FencedViolation[];
}

/** One operation: its invoke and its completion (unknown when the history ends before it completed). */
interface Operation {
  kind: OperationKind;
  invokedAt: number;
  completedAt: number;
  result: Completion;
  messageId: string | undefined;
  leaseId: string | undefined;
  leaseMs: number | undefined;
  deliveries: readonly { messageId: string; leaseId: string }[];
}

/** One lease handed out: which message, when its receive was invoked and completed, how long it was asked for. */
interface Lease {
  messageId: string;
  leaseId: string;
  receiveInvokedAt: number;
  receiveCompletedAt: number;
  leaseMs: number | undefined;
}

const DEFAULT_MARGIN_MS = 1_000;

export function checkHistory(events: readonly HistoryEvent[], options: CheckerOptions = {}): CheckResult {
  const marginMs = options.marginMs ?? DEFAULT_MARGIN_MS;
  const operations = pairUp(events);

  const sends = new Map<string, Completion[]>();
  const leases = new Map<string, Lease>();
  const leasesOf = new Map<string, Lease[]>();
  const acks: Operation[] = [];
  for (const operation of operations) {
    if (operation.kind === "send" && operation.messageId !== undefined) {
      push(sends, operation.messageId, operation.result);
    } else if (operation.kind === "receive" && operation.result === "ok") {
      for (const { messageId, leaseId } of operation.deliveries) {
        const lease: Lease = {
          messageId,
          leaseId,
          receiveInvokedAt: operation.invokedAt,
          receiveCompletedAt: operation.completedAt,
          leaseMs: operation.leaseMs,
        };
        leases.set(leaseId, lease);
        push(leasesOf, messageId, lease);
      }
    } else if (operation.kind === "ack") {
      acks.push(operation);
    }
  }

  const ackedOk = new Map<string, Operation[]>();
  const maybeAcked = new Set<string>();
  const fenced: FencedViolation[] = [];
  for (const ack of acks) {
    if (ack.leaseId === undefined) continue;
    const lease = leases.get(ack.leaseId);
    const messageId = lease?.messageId ?? ack.messageId;
    if (messageId === undefined) continue;
    if (ack.result === "fail") continue;
    maybeAcked.add(messageId);
    if (ack.result !== "ok") continue;
    push(ackedOk, messageId, ack);
    if (lease === undefined) continue;
    const superseded = (leasesOf.get(messageId) ?? []).some(
      (other) =>
        other.leaseId !== lease.leaseId &&
        other.receiveInvokedAt > lease.receiveCompletedAt &&
        other.receiveCompletedAt < ack.invokedAt,
    );
    if (superseded) {
      fenced.push({ messageId, leaseId: lease.leaseId, why: "superseded" });
      continue;
    }
    if (lease.leaseMs !== undefined && ack.invokedAt > lease.receiveCompletedAt + lease.leaseMs + marginMs) {
      fenced.push({ messageId, leaseId: lease.leaseId, why: "expired" });
    }
  }

  const duplicatedAfterAck: string[] = [];
  for (const [messageId, okAcks] of ackedOk) {
    const firstAckDone = Math.min(...okAcks.map((ack) => ack.completedAt));
    for (const lease of leasesOf.get(messageId) ?? []) {
      const ackedThisLease = okAcks.some((ack) => ack.leaseId === lease.leaseId);
      if (!ackedThisLease && lease.receiveInvokedAt > firstAckDone) duplicatedAfterAck.push(messageId);
    }
  }

  const lost: string[] = [];
  let sentOk = 0;
  let sentFail = 0;
  let sentUnknown = 0;
  const recovered: string[] = [];
  for (const [messageId, results] of sends) {
    const delivered = leasesOf.has(messageId);
    if (results.includes("ok")) {
      sentOk++;
      if (!maybeAcked.has(messageId)) lost.push(messageId);
    } else if (results.includes("unknown")) {
      sentUnknown++;
      if (delivered) recovered.push(messageId);
    } else {
      sentFail++;
    }
  }
  const unexpected = [...leasesOf.keys()].filter((messageId) => {
    const results = sends.get(messageId);
    return results === undefined || results.every((result) => result === "fail");
  });

  return {
    counts: {
      sentOk,
      sentFail,
      sentUnknown,
      delivered: leasesOf.size,
      acked: ackedOk.size,
      lost: lost.length,
      duplicatedAfterAck: duplicatedAfterAck.length,
      unexpected: unexpected.length,
      recovered: recovered.length,
      fencedViolations: fenced.length,
    },
    lost,
    duplicatedAfterAck,
    unexpected,
    recovered,
    fenced,
  };
}

/** Joins each invoke with its completion; an operation that never completed is unknown, ending now (+∞). */
function pairUp(events: readonly HistoryEvent[]): Operation[] {
  const open = new Map<number, Operation>();
  const operations: Operation[] = [];
  for (const event of events) {
    if (event.type === "invoke") {
      const operation: Operation = {
        kind: event.kind,
        invokedAt: event.at,
        completedAt: Number.POSITIVE_INFINITY,
        result: "unknown",
        messageId: event.messageId,
        leaseId: event.leaseId,
        leaseMs: event.leaseMs,
        deliveries: [],
      };
      open.set(event.op, operation);
      operations.push(operation);
      continue;
    }
    const operation = open.get(event.op);
    if (operation === undefined) throw new Error(`completion of operation ${event.op} without an invoke`);
    open.delete(event.op);
    operation.completedAt = event.at;
    operation.result = event.type;
    operation.deliveries = event.deliveries ?? [];
  }
  return operations;
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}
