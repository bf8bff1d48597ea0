import { ApiException, type V1Secret } from "@kubernetes/client-node";
import type { SecretKeySelector } from "../k8s-types.js";
import type { KubeObjects } from "../kube-objects.js";
import { secretDataValue } from "../status/domain-conditions.js";
import type { SecretKeyLookup } from "../status/domain-workload-conditions.js";

/**
 * Reads one key of a Secret in `namespace`, trimmed of surrounding whitespace. RBAC grants Secret reads per
 * namespace only (the chart's rbac.secretNamespaces): elsewhere the answer is `forbidden`, not a failed reconcile.
 */
export async function readSecretKey(
  objects: KubeObjects,
  namespace: string,
  ref: SecretKeySelector,
): Promise<SecretKeyLookup> {
  let secret: V1Secret | undefined;
  try {
    secret = await objects.read<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: ref.name, namespace },
    });
  } catch (error) {
    if (error instanceof ApiException && error.code === 403) return { state: "forbidden" };
    throw error;
  }
  if (secret === undefined) return { state: "secretNotFound" };
  const value = secretDataValue(secret, ref.key);
  return value === "" ? { state: "keyNotFound" } : { state: "found", value };
}
