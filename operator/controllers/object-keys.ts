/** Work-queue keys (`namespace/name`) of objects, and of the custom resource controlling a child. */
import type { KubernetesObject } from "@kubernetes/client-node";
import { CRD_API_VERSION } from "../../core/crds/common.js";

export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

export function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

export function keyOf(object: KubernetesObject): string | undefined {
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace;
  return name === undefined || namespace === undefined ? undefined : objectKey(namespace, name);
}

/** The key of the custom resource of `kind` controlling a child object, if any. */
export function ownerKey(child: KubernetesObject, kind: string): string | undefined {
  const namespace = child.metadata?.namespace;
  const owner = child.metadata?.ownerReferences?.find(
    (ref) => ref.controller === true && ref.apiVersion === CRD_API_VERSION && ref.kind === kind,
  );
  return namespace === undefined || owner === undefined ? undefined : objectKey(namespace, owner.name);
}
