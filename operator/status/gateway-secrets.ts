/**
 * What a Gateway's status says about the Secret keys its pods mount (peer tokens, the listener's certificate and
 * client CA, peers' TLS): `PeerSecretsResolved` for the tokens, `TLSSecretsResolved` for the rest, each False with
 * `Degraded` True while a key is missing (the kubelet cannot start the pods then).
 */
import type { GatewaySecretKey } from "../builders/gateway.js";
import { CONDITION_DEGRADED, type ConditionUpdate } from "./conditions.js";

export const CONDITION_PEER_SECRETS_RESOLVED = "PeerSecretsResolved";
export const CONDITION_TLS_SECRETS_RESOLVED = "TLSSecretsResolved";

function describeKeys(keys: readonly GatewaySecretKey[]): string {
  return keys.map((key) => `${key.name}/${key.key} (${key.use})`).join(", ");
}

function missingConditions(
  type: string,
  found: { reason: string; message: string },
  notFoundReason: string,
  what: string,
  missing: readonly GatewaySecretKey[],
): ConditionUpdate[] {
  if (missing.length === 0) return [{ type, status: "True", ...found }];
  const message = `missing ${what} Secret key: ${describeKeys(missing)}; the pods cannot start until it exists`;
  return [
    { type, status: "False", reason: notFoundReason, message },
    { type: CONDITION_DEGRADED, status: "True", reason: notFoundReason, message },
  ];
}

/** The conditions for the Secret keys that are `missing` among `keys` (all the Gateway mounts). */
export function gatewaySecretConditions(
  keys: readonly GatewaySecretKey[],
  missing: readonly GatewaySecretKey[],
): ConditionUpdate[] {
  const usesTls = keys.some((key) => key.volume === "tls");
  return [
    ...missingConditions(
      CONDITION_PEER_SECRETS_RESOLVED,
      { reason: "PeerSecretsFound", message: "every peer's token Secret is there" },
      "PeerSecretNotFound",
      "peer token",
      missing.filter((key) => key.volume === "tokens"),
    ),
    ...missingConditions(
      CONDITION_TLS_SECRETS_RESOLVED,
      usesTls
        ? { reason: "TLSSecretsFound", message: "every TLS Secret is there" }
        : { reason: "NotRequired", message: "the gateway uses no TLS Secret" },
      "TLSSecretNotFound",
      "TLS",
      missing.filter((key) => key.volume === "tls"),
    ),
  ];
}
