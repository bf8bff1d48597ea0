import { BmnError, LeaseError, StoreFullError, StoreUnavailableError } from "../../core/errors.js";
import type { LeaseRef } from "../lease-id.js";
import { formatLeaseId } from "../lease-id.js";

const TRANSIENT_REPLIES = ["LOADING", "CLUSTERDOWN", "TRYAGAIN", "MASTERDOWN", "READONLY", "BUSY"];

/** Maps what ioredis throws to BMN's typed errors: lease problems from our scripts, everything else unavailable. */
export function toStoreError(error: unknown, lease?: LeaseRef): Error {
  if (error instanceof BmnError) return error;
  const message = error instanceof Error ? error.message : String(error);
  const code = leaseReplyCode(error);
  if (lease !== undefined && code !== undefined)
    return new LeaseError(code, formatLeaseId(lease), { cause: error });
  const isReply = error instanceof Error && error.name === "ReplyError";
  // Redis answers OOM before a write command or a script declared as writing, so nothing was written.
  if (isReply && message.startsWith("OOM"))
    return new StoreFullError("the store is at its memory limit; nothing was written", { cause: error });
  // The reply text stays in `cause` for the log: it can hold script hashes and source lines.
  const replyCode = /^[A-Z]+\b/.exec(message)?.[0] ?? "ERR";
  if (isReply && !TRANSIENT_REPLIES.includes(replyCode)) {
    return new BmnError("INTERNAL", `redis refused a command (${replyCode})`, { cause: error });
  }
  return new StoreUnavailableError(
    isReply ? `redis is unavailable (${replyCode})` : `redis is unavailable: ${message}`,
    { cause: error },
  );
}

/** LEASE_* replies from the commit script name no lease, so they carry the code alone. */
export function leaseReplyCode(error: unknown): "LEASE_NOT_FOUND" | "LEASE_EXPIRED" | undefined {
  // Redis prefixes script errors without an error code of their own with "ERR ".
  const message = (error instanceof Error ? error.message : "").replace(/^ERR /, "");
  if (message.startsWith("LEASE_NOT_FOUND")) return "LEASE_NOT_FOUND";
  if (message.startsWith("LEASE_EXPIRED")) return "LEASE_EXPIRED";
  return undefined;
}
