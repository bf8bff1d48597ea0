/**
 * Why a child could not be applied, as a condition reason and a message for the owner's status: a name
 * taken by an object BMN does not control (`NameConflict`), or the apiserver's refusal (`ApplyFailed`, with
 * the apiserver's own message, e.g. a 422 naming the invalid field).
 */
import { ApiException } from "@kubernetes/client-node";
import { NameConflictError, type ChildObject } from "../kube-objects.js";

export interface ApplyFailure {
  reason: "NameConflict" | "ApplyFailed";
  message: string;
}

/** The `message` of the apiserver's Status body, or the body itself when it is not a Status. */
export function apiserverMessage(error: ApiException<unknown>): string {
  const body: unknown = error.body;
  let parsed: unknown = body;
  if (typeof body === "string") {
    try {
      parsed = JSON.parse(body);
    } catch {
      return body;
    }
  }
  if (
    parsed !== null &&
    typeof parsed === "object" &&
    "message" in parsed &&
    typeof parsed.message === "string"
  )
    return parsed.message;
  return typeof body === "string" ? body : error.message;
}

/** One short line for an error: `HTTP <code>: <the apiserver's message>` for an apiserver answer. */
export function shortError(error: unknown): string {
  if (error instanceof ApiException) return `HTTP ${String(error.code)}: ${apiserverMessage(error)}`;
  return error instanceof Error ? error.message : String(error);
}

/** The failure to report for an error thrown by applying `child`; undefined for errors that are not about it. */
export function applyFailure(child: ChildObject, error: unknown): ApplyFailure | undefined {
  if (error instanceof NameConflictError) return { reason: "NameConflict", message: error.message };
  // 401/403 (RBAC) and 429/5xx are the apiserver's refusals too: the user sees them on the resource.
  if (error instanceof ApiException)
    return {
      reason: "ApplyFailed",
      message: `applying ${child.kind} ${child.metadata.name} failed: ${shortError(error)}`,
    };
  return undefined;
}

/**
 * Thrown by a reconcile after the owner's status and an Event reported a failed child: the work queue
 * retries it with its exponential, capped backoff.
 */
export class ReportedApplyFailure extends Error {
  override name = "ReportedApplyFailure";
  constructor(
    readonly failure: ApplyFailure,
    options?: { cause: unknown },
  ) {
    super(`${failure.reason}: ${failure.message}`, options);
  }
}
