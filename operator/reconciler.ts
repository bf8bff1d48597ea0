/**
 * What every reconciler shares: the result type, the options, and a base class holding the apiserver
 * clients, with helpers to apply a child (recording an Event when it was created or changed), delete a child
 * the spec no longer wants, and write status (recording Events for condition transitions).
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import type { Condition } from "../core/crds/common.js";
import type { BuildOptions } from "./builders/common.js";
import { childEvent, conditionEvents } from "./condition-events.js";
import type { ConditionUpdate } from "./conditions.js";
import { EventRecorder, type EventSink, type EventSubject, type OperatorEvent } from "./event-recorder.js";
import type { CustomResource } from "./k8s-types.js";
import { isNotFound, KubeObjects, type ChildObject, type ObjectHeader } from "./kube-objects.js";
import type { StoreProbe } from "./store-probe.js";
import { nextStatus, StatusWriter, type BaseStatus } from "./status-writer.js";

export interface ReconcileResult {
  /** False when the resource does not exist (garbage collection removes its children). */
  found: boolean;
  /** True when the status subresource was written. */
  statusWritten: boolean;
  /** Reconcile again after this long even without a watch event (something outside the cluster may change). */
  requeueAfterMs?: number;
}

export interface Reconciler {
  reconcile(namespace: string, name: string): Promise<ReconcileResult>;
}

export interface ReconcilerOptions extends BuildOptions {
  /** For tests: the clock used for condition transition times and Events. */
  now?: () => Date;
  /** Where Events go; default an `EventRecorder` on the same apiserver. */
  events?: EventSink;
  /** How MessageDomain stores are checked; default `connectingStoreProbe()`. */
  storeProbe?: StoreProbe;
  /** How often a MessageDomain whose Secret or store is not there yet is checked again. Default 30 s. */
  notReadyRequeueMs?: number;
  /** Event write failures (reconciles go on). */
  onError?: (what: string, error: unknown) => void;
}

type AnyResource = CustomResource<string, unknown, BaseStatus>;

export function eventSubject(resource: AnyResource): EventSubject {
  return {
    apiVersion: resource.apiVersion,
    kind: resource.kind,
    metadata: {
      name: resource.metadata.name,
      namespace: resource.metadata.namespace,
      uid: resource.metadata.uid,
    },
  };
}

/** True once the resource has a deletionTimestamp: garbage collection takes the children then. */
export function isBeingDeleted(resource: { metadata: object }): boolean {
  return (resource.metadata as { deletionTimestamp?: unknown }).deletionTimestamp !== undefined;
}

export abstract class BaseReconciler implements Reconciler {
  protected readonly objects: KubeObjects;
  protected readonly statusWriter: StatusWriter;
  protected readonly events: EventSink;
  protected readonly now: () => Date;

  constructor(
    kubeConfig: KubeConfig,
    protected readonly options: ReconcilerOptions = {},
  ) {
    this.objects = new KubeObjects(kubeConfig);
    this.statusWriter = new StatusWriter(kubeConfig);
    this.now = options.now ?? (() => new Date());
    this.events =
      options.events ??
      new EventRecorder(kubeConfig, {
        now: this.now,
        ...(options.onError === undefined ? {} : { onError: options.onError }),
      });
  }

  abstract reconcile(namespace: string, name: string): Promise<ReconcileResult>;

  /** Reads a custom resource of this group in `namespace`; undefined when absent. */
  protected async readResource<R extends AnyResource>(
    apiVersion: string,
    kind: string,
    namespace: string,
    name: string,
  ): Promise<R | undefined> {
    return await this.objects.read<R & KubernetesObject>({ apiVersion, kind, metadata: { name, namespace } });
  }

  /** Applies a child and records an Event when it was created or changed. */
  protected async applyChild<T extends KubernetesObject>(owner: AnyResource, child: ChildObject): Promise<T> {
    const { object, change } = await this.objects.apply<T>(child);
    await this.record(owner, [childEvent(change, object)]);
    return object;
  }

  /** Deletes a child the spec no longer asks for, when this owner controls it. */
  protected async deleteChild(owner: AnyResource, header: ObjectHeader): Promise<void> {
    if (await this.objects.deleteIfControlled(header, owner.metadata.uid))
      await this.record(owner, [childEvent("deleted", header)]);
  }

  /**
   * Writes status (when it changed) and records an Event for each watched condition that turned bad,
   * changed its reason while bad, or recovered.
   */
  protected async writeStatus<S extends BaseStatus>(
    resource: CustomResource<string, unknown, S>,
    plural: string,
    updates: readonly ConditionUpdate[],
    extra: Omit<S, keyof BaseStatus>,
    watched?: readonly string[],
  ): Promise<ReconcileResult> {
    const previous: Condition[] | undefined = resource.status?.conditions;
    const status = nextStatus<S>(resource, updates, extra, this.now());
    let statusWritten: boolean;
    try {
      statusWritten = await this.statusWriter.write(resource, plural, status);
    } catch (error) {
      // Deleted while this reconcile ran: nothing left to report on.
      if (isNotFound(error)) return { found: false, statusWritten: false };
      throw error;
    }
    await this.record(resource, conditionEvents(previous, updates, watched));
    return { found: true, statusWritten };
  }

  protected async record(
    resource: AnyResource,
    events: readonly (OperatorEvent | undefined)[],
  ): Promise<void> {
    for (const event of events)
      if (event !== undefined) await this.events.record(eventSubject(resource), event);
  }
}
