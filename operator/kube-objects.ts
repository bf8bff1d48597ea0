/**
 * The reconcilers' access to the apiserver: read (absent is `undefined`), server-side apply with the one
 * field manager (reporting whether the object was created, changed or left alone), and delete of a child the
 * owner no longer wants.
 */
import {
  ApiException,
  KubernetesObjectApi,
  PatchStrategy,
  type KubeConfig,
  type KubernetesObject,
} from "@kubernetes/client-node";

/** The one field manager every write of the operator uses. */
export const FIELD_MANAGER = "bmn-operator";

export function isNotFound(error: unknown): boolean {
  return error instanceof ApiException && error.code === 404;
}

export interface ObjectHeader {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string };
}

/** A child as the builders make it: the namespace is always set, though the type allows leaving it out. */
export interface ChildObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    ownerReferences?: { controller?: boolean | undefined; uid: string }[] | undefined;
  };
}

/**
 * An object of the child's kind and name exists but BMN's owner does not control it (a user's object, or
 * another resource's child): it is left untouched and the owner reports the conflict.
 */
export class NameConflictError extends Error {
  override name = "NameConflictError";
  constructor(readonly child: ObjectHeader) {
    super(
      `${child.kind} ${child.metadata.name} already exists in namespace ${child.metadata.namespace} and is not ` +
        "managed by this resource; BMN leaves it untouched. Delete or rename it, or rename this resource",
    );
  }
}

export type ApplyChange = "created" | "updated" | "unchanged";

export interface Applied<T> {
  object: T;
  change: ApplyChange;
}

/** True when `object` has a controller owner reference to the owner with this uid. */
export function controlledBy(
  object: { metadata?: { ownerReferences?: { controller?: boolean | undefined; uid: string }[] } },
  ownerUid: string,
): boolean {
  return (object.metadata?.ownerReferences ?? []).some(
    (ref) => ref.controller === true && ref.uid === ownerUid,
  );
}

interface Versioned {
  metadata?: { resourceVersion?: string | undefined };
}

/** What an apply did, from the object before (if any) and after: the resourceVersion moves only on a write. */
export function applyChange(before: Versioned | undefined, after: Versioned): ApplyChange {
  if (before === undefined) return "created";
  return before.metadata?.resourceVersion === after.metadata?.resourceVersion ? "unchanged" : "updated";
}

export class KubeObjects {
  private readonly api: KubernetesObjectApi;

  constructor(kubeConfig: KubeConfig) {
    this.api = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  async read<T extends KubernetesObject>(header: ObjectHeader): Promise<T | undefined> {
    try {
      return await this.api.read<T>(header);
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw error;
    }
  }

  /** Every object of a kind in one namespace (one page: the operator lists small sets such as a domain's Gateways). */
  async list<T extends KubernetesObject>(apiVersion: string, kind: string, namespace: string): Promise<T[]> {
    return (await this.api.list<T>(apiVersion, kind, namespace)).items;
  }

  /**
   * Server-side apply, forced, with `FIELD_MANAGER`. Reads first, to tell the caller what changed and to
   * refuse (`NameConflictError`) when an object of that name exists that the child's controlling owner does
   * not control: BMN never adopts or changes an object it did not create.
   */
  async apply<T extends KubernetesObject>(child: ChildObject): Promise<Applied<T>> {
    const header = headerOf(child);
    const before = await this.read(header);
    const ownerUid = child.metadata.ownerReferences?.find((ref) => ref.controller === true)?.uid;
    if (before !== undefined && (ownerUid === undefined || !controlledBy(before, ownerUid)))
      throw new NameConflictError(header);
    const object = await this.api.patch<T>(
      child as KubernetesObject as T,
      undefined,
      undefined,
      FIELD_MANAGER,
      true,
      PatchStrategy.ServerSideApply,
    );
    return { object, change: applyChange(before, object) };
  }

  /** Deletes the object when the owner with `ownerUid` controls it; true when it deleted something. */
  async deleteIfControlled(header: ObjectHeader, ownerUid: string): Promise<boolean> {
    const existing = await this.read(header);
    if (existing === undefined || !controlledBy(existing, ownerUid)) return false;
    try {
      await this.api.delete(headerOf(header));
      return true;
    } catch (error) {
      if (isNotFound(error)) return false;
      throw error;
    }
  }
}

/** Only what identifies an object (a full child would be sent as a body otherwise). */
export function headerOf(object: ChildObject): ObjectHeader {
  const { namespace } = object.metadata;
  if (namespace === undefined) throw new Error(`${object.kind} ${object.metadata.name} has no namespace`);
  return {
    apiVersion: object.apiVersion,
    kind: object.kind,
    metadata: { name: object.metadata.name, namespace },
  };
}
