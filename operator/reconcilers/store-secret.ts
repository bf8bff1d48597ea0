import type { MessageDomainSpec } from "../../core/crds/message-domain.js";
import type { KubeObjects } from "../kube-objects.js";
import type { SecretLookup } from "../status/domain-conditions.js";
import { readSecretKey } from "./secret-key.js";

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
  if (ref === undefined) return { state: "notRequired" };
  const found = await readSecretKey(objects, namespace, ref);
  switch (found.state) {
    case "found":
      return { state: "resolved", name: ref.name, key: ref.key, value: found.value };
    case "keyNotFound":
      return { state: "keyNotFound", name: ref.name, key: ref.key };
    case "secretNotFound":
    case "forbidden":
      return { state: found.state, name: ref.name };
  }
}
