import { LeaseError } from "../../core/errors.js";
import { isOutboxQueue, type AgentName } from "../../core/names.js";
import { parseLeaseId } from "../../store/lease-id.js";
import { toAgentName } from "../../store/validate.js";

/**
 * The agent a path or body names. The store also takes outbox queues (`bmn.out.<domain>`), which only gateways
 * read; the agent API refuses them like any other name that is not a DNS label (400 INVALID_ADDRESS).
 */
export function agentInput(value: unknown, field = "agent"): AgentName {
  return toAgentName(value, field);
}

/** A lease id an agent may settle: one of an outbox (held by a gateway) is unknown to the agent API (404). */
export function agentLeaseId(leaseId: string): string {
  if (isOutboxQueue(parseLeaseId(leaseId).agent)) throw new LeaseError("LEASE_NOT_FOUND", leaseId);
  return leaseId;
}
