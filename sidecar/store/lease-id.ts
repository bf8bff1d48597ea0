import { LeaseError } from "../../core/errors.js";
import { MESSAGE_ID_PATTERN, type MessageId } from "../../core/ids.js";
import { DNS_LABEL, type AgentName } from "../../core/names.js";

/** A lease names its queue, its message and the unique token of this one delivery. */
export interface LeaseRef {
  agent: AgentName;
  id: MessageId;
  token: string;
}

/** `<agent>.<messageId>.<token>`: the agent comes first so a lease can be settled without a lookup. */
export function formatLeaseId(lease: LeaseRef): string {
  return `${lease.agent}.${lease.id}.${lease.token}`;
}

export function parseLeaseId(leaseId: unknown): LeaseRef {
  if (typeof leaseId !== "string") throw new LeaseError("LEASE_NOT_FOUND", String(leaseId));
  const first = leaseId.indexOf(".");
  const last = leaseId.lastIndexOf(".");
  const agent = leaseId.slice(0, first);
  const id = leaseId.slice(first + 1, last);
  const token = leaseId.slice(last + 1);
  if (
    first <= 0 ||
    last <= first ||
    !DNS_LABEL.test(agent) ||
    !MESSAGE_ID_PATTERN.test(id) ||
    !/^\d{1,20}$/.test(token)
  ) {
    throw new LeaseError("LEASE_NOT_FOUND", leaseId);
  }
  return { agent: agent as AgentName, id: id as MessageId, token };
}
