/**
 * A MessageDomain's conditions from what the reconciler found: whether the Secret holding the store URL
 * resolves (`SecretResolved`), whether the store answers (`StoreReachable`), and from those `Ready`,
 * `Progressing` and `Degraded`. Pure, so every case is unit-tested without an apiserver or a store.
 */
import type { MessageDomainSpec } from "../../core/crds/message-domain.js";
import {
  CONDITION_DEGRADED,
  CONDITION_PROGRESSING,
  CONDITION_READY,
  type ConditionUpdate,
} from "./conditions.js";

export const CONDITION_SECRET_RESOLVED = "SecretResolved";
export const CONDITION_STORE_REACHABLE = "StoreReachable";

/** What reading the referenced Secret gave. The value never goes into a condition or an event. */
export type SecretLookup =
  | { state: "notRequired" }
  | { state: "secretNotFound"; name: string }
  | { state: "forbidden"; name: string }
  | { state: "keyNotFound"; name: string; key: string }
  | { state: "resolved"; name: string; key: string; value: string };

export type StoreCheck = { reachable: true } | { reachable: false; error: string };

/** One key of a Secret's `data` (base64, as the apiserver returns it), decoded and trimmed; "" when absent. */
export function secretDataValue(secret: { data?: Record<string, string> | undefined }, key: string): string {
  const encoded = secret.data?.[key];
  return encoded === undefined ? "" : Buffer.from(encoded, "base64").toString("utf8").trim();
}

/** Picks the store URL out of a Secret's `data`. */
export function lookupSecret(
  spec: MessageDomainSpec,
  secret: { data?: Record<string, string> | undefined } | undefined,
): SecretLookup {
  const ref = spec.store.type === "memory" ? undefined : spec.store.connection?.secretRef;
  if (ref === undefined) return { state: "notRequired" };
  if (secret === undefined) return { state: "secretNotFound", name: ref.name };
  const value = secretDataValue(secret, ref.key);
  if (value === "") return { state: "keyNotFound", name: ref.name, key: ref.key };
  return { state: "resolved", name: ref.name, key: ref.key, value };
}

/**
 * The store's hosts from its connection URL(s), comma-separated, for `status.store.endpoint`: never the user,
 * password, path or query. A part that does not parse as a URL is shown as `?`.
 */
export function storeEndpoint(value: string): string {
  return value
    .split(",")
    .map((part) => {
      try {
        return new URL(part.trim()).host || "?";
      } catch {
        return "?";
      }
    })
    .join(",");
}

export interface DomainConditions {
  updates: ConditionUpdate[];
  /** True while the domain is not usable for a reason the watches cannot see change (Secret, store). */
  retry: boolean;
}

export function domainConditions(
  spec: MessageDomainSpec,
  secret: SecretLookup,
  store: StoreCheck | undefined,
): DomainConditions {
  const type = spec.store.type;
  let secretUpdate: ConditionUpdate;
  let storeUpdate: ConditionUpdate;
  switch (secret.state) {
    case "notRequired":
      secretUpdate = {
        type: CONDITION_SECRET_RESOLVED,
        status: "True",
        reason: "NotRequired",
        message: `the ${type} store needs no Secret`,
      };
      break;
    case "secretNotFound":
      secretUpdate = {
        type: CONDITION_SECRET_RESOLVED,
        status: "False",
        reason: "SecretNotFound",
        message: `Secret ${secret.name} (spec.store.connection.secretRef) not found`,
      };
      break;
    case "forbidden":
      secretUpdate = {
        type: CONDITION_SECRET_RESOLVED,
        status: "Unknown",
        reason: "SecretNotReadable",
        message: `the operator may not read Secret ${secret.name} (see the chart's rbac.secretNamespaces)`,
      };
      break;
    case "keyNotFound":
      secretUpdate = {
        type: CONDITION_SECRET_RESOLVED,
        status: "False",
        reason: "SecretKeyNotFound",
        message: `Secret ${secret.name} has no non-empty key ${secret.key}`,
      };
      break;
    case "resolved":
      secretUpdate = {
        type: CONDITION_SECRET_RESOLVED,
        status: "True",
        reason: "SecretFound",
        message: `store URL read from Secret ${secret.name} key ${secret.key}`,
      };
      break;
  }
  if (type === "memory") {
    storeUpdate = {
      type: CONDITION_STORE_REACHABLE,
      status: "True",
      reason: "InMemory",
      message: "each sidecar keeps its own in-memory store",
    };
  } else if (store === undefined) {
    storeUpdate = {
      type: CONDITION_STORE_REACHABLE,
      status: "Unknown",
      reason: "SecretNotResolved",
      message: "the store URL is not known",
    };
  } else if (store.reachable) {
    storeUpdate = {
      type: CONDITION_STORE_REACHABLE,
      status: "True",
      reason: "StoreAnswered",
      message: type === "redis" ? "PING answered" : "SELECT 1 answered",
    };
  } else {
    storeUpdate = {
      type: CONDITION_STORE_REACHABLE,
      status: "False",
      reason: "StoreUnreachable",
      message: store.error,
    };
  }

  const failure = [secretUpdate, storeUpdate].find((update) => update.status !== "True");
  const updates: ConditionUpdate[] = [
    failure === undefined
      ? {
          type: CONDITION_READY,
          status: "True",
          reason: "DomainReady",
          message: "config published, store answers",
        }
      : { type: CONDITION_READY, status: "False", reason: failure.reason, message: failure.message },
    { type: CONDITION_PROGRESSING, status: "False", reason: "ConfigPublished", message: "" },
    failure === undefined
      ? { type: CONDITION_DEGRADED, status: "False", reason: "AsExpected", message: "" }
      : { type: CONDITION_DEGRADED, status: "True", reason: failure.reason, message: failure.message },
    secretUpdate,
    storeUpdate,
  ];
  return { updates, retry: failure !== undefined };
}
