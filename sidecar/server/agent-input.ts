import { LeaseError } from "../../core/errors.js";
import { A2A_PUSH_QUEUE, isOutboxQueue, type AgentName } from "../../core/names.js";
import { parseLeaseId } from "../../store/lease-id.js";
import { toAgentName } from "../../store/validate.js";

/**
 * The agent a path or body names. The store also takes outbox queues (`bmn.out.<domain>`), which only gateways
 * read; the agent API refuses them like any other name that is not a DNS label (400 INVALID_ADDRESS).
 */
export function agentInput(value: unknown, field = "agent"): AgentName {
  return toAgentName(value, field);
}

/**
 * A lease id an agent may settle: one of an outbox (held by a gateway) or of the A2A push outbox (held by a
 * sidecar) is unknown to the agent API (404).
 */
export function agentLeaseId(leaseId: string): string {
  const queue: string = parseLeaseId(leaseId).agent;
  if (isOutboxQueue(queue) || queue === A2A_PUSH_QUEUE) throw new LeaseError("LEASE_NOT_FOUND", leaseId);
  return leaseId;
}
