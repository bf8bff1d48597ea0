import { ApiException, type V1Secret } from "@kubernetes/client-node";
import type { MessageDomainSpec } from "../../core/crds/message-domain.js";
import type { KubeObjects } from "../kube-objects.js";
import { lookupSecret, type SecretLookup } from "../status/domain-conditions.js";

/**
 * Reads the Secret holding a domain's store URL. RBAC grants Secret reads per namespace only: elsewhere the
 * answer is `forbidden` instead of a failed reconcile.
 */
export async function lookupStoreSecret(
  objects: KubeObjects,
  namespace: string,
  spec: MessageDomainSpec,
): Promise<SecretLookup> {
  const ref = spec.store.type === "memory" ? undefined : spec.store.connection?.secretRef;
  if (ref === undefined) return lookupSecret(spec, undefined);
  try {
    const secret = await objects.read<V1Secret>({
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: ref.name, namespace },
    });
    return lookupSecret(spec, secret);
  } catch (error) {
    if (error instanceof ApiException && error.code === 403) return { state: "forbidden", name: ref.name };
    throw error;
  }
}
