import { isBmnClientError, type SendResult } from "../../client/index.js";
import type { Rejection } from "./dead-letters.js";

/**
 * What a refusal of the sidecar means for a bridged message: a 4xx is the message's fault and will not change on
 * a retry (dead-letter it with the matching reason); anything else (5xx, unreachable, timeout) is BMN's, so the
 * caller keeps the message at its source and tries again.
 */
export function permanentRefusal(error: unknown): Rejection | undefined {
  if (!isBmnClientError(error) || error.status === undefined || error.status >= 500) return undefined;
  if (error.status === 408 || error.status === 429) return undefined;
  const reason = error.status === 413 ? "too-large" : error.status === 403 ? "forbidden" : "invalid";
  return { reason, detail: `BMN refused it: ${error.errorCode}: ${error.message}` };
}

/**
 * Sends through `send`; a permanent refusal goes to `reject` instead (and answers undefined). Other failures
 * throw, so the message stays where it came from.
 */
export async function storeOrReject(
  send: () => Promise<SendResult>,
  reject: (rejection: Rejection) => Promise<void>,
): Promise<SendResult | undefined> {
  try {
    return await send();
  } catch (error) {
    const rejection = permanentRefusal(error);
    if (rejection === undefined) throw error;
    await reject(rejection);
    return undefined;
  }
}
