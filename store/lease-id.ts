import { LeaseError } from "../core/errors.js";
import { MESSAGE_ID_PATTERN, type MessageId } from "../core/ids.js";
import {
  A2A_QUEUE_PREFIX,
  DNS_LABEL,
  DNS_LABEL_MAX,
  OUTBOX_QUEUE_PREFIX,
  type QueueName,
} from "../core/names.js";

/** A lease names its queue, its message and the unique token of this one delivery. */
export interface LeaseRef {
  agent: QueueName;
  id: MessageId;
  token: string;
}

/**
 * `<queue>.<messageId>.<token>`: the queue comes first so a lease can be settled without a lookup. The queue is an
 * agent name (a DNS label, no dots), an outbox `bmn.out.<domain>` or the A2A push outbox `bmn.a2a.push`, whose
 * fixed prefix is skipped when parsing.
 */
export function formatLeaseId(lease: LeaseRef): string {
  return `${lease.agent}.${lease.id}.${lease.token}`;
}

export function parseLeaseId(leaseId: unknown): LeaseRef {
  if (typeof leaseId !== "string") throw new LeaseError("LEASE_NOT_FOUND", String(leaseId));
  const prefix = [OUTBOX_QUEUE_PREFIX, A2A_QUEUE_PREFIX].find((candidate) => leaseId.startsWith(candidate));
  const skip = prefix?.length ?? 0;
  const first = leaseId.indexOf(".", skip);
  const last = leaseId.lastIndexOf(".");
  const agent = leaseId.slice(0, first);
  const label = agent.slice(skip);
  const id = leaseId.slice(first + 1, last);
  const token = leaseId.slice(last + 1);
  if (
    first <= skip ||
    last <= first ||
    label.length > DNS_LABEL_MAX ||
    !DNS_LABEL.test(label) ||
    !MESSAGE_ID_PATTERN.test(id) ||
    !/^\d{1,20}$/.test(token)
  ) {
    throw new LeaseError("LEASE_NOT_FOUND", leaseId);
  }
  return { agent: agent as QueueName, id: id as MessageId, token };
}
