/**
 * What every reconciler shares: the result type, the options, and a base class holding the apiserver
 * clients, with one helper per step of a reconcile: get a resource, run the pure builders (an invalid spec
 * becomes conditions), apply a child (recording an Event when it was created or changed), delete a child the
 * spec no longer wants, and write status (recording Events for condition transitions).
 */
import type { KubeConfig, KubernetesObject } from "@kubernetes/client-node";
import { BuildError, type BuildOptions } from "../builders/common.js";
import { CRD_API_VERSION, type Condition } from "../../core/crds/common.js";
import { blockedConditions } from "../status/deployment-conditions.js";
import { childEvent, conditionEvents } from "../status/condition-events.js";
import type { ConditionUpdate } from "../status/conditions.js";
import {
  EventRecorder,
  type EventSink,
  type EventSubject,
  type OperatorEvent,
} from "../status/event-recorder.js";
import type { CustomResource } from "../k8s-types.js";
import {
  isNotFound,
  KubeObjects,
  type Applied,
  type ChildObject,
  type ObjectHeader,
} from "../kube-objects.js";
import type { StoreProbe } from "./store-probe.js";
import type { QueueReader } from "./queue-reader.js";
import type { GatewayLinkOptions } from "./gateway-links.js";
import { nextStatus, StatusWriter, type BaseStatus } from "../status/status-writer.js";
import { applyFailure, ReportedApplyFailure } from "../status/apply-failure.js";

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

export interface ReconcilerOptions extends BuildOptions, GatewayLinkOptions {
  /** For tests: the clock used for condition transition times and Events. */
  now?: () => Date;
  /** Where Events go; default an `EventRecorder` on the same apiserver. */
  events?: EventSink;
  /** How AgentEndpoints' queues are read; default a `storeQueueReader()` per reconciler. */
  queueReader?: QueueReader;
  /** How MessageDomain stores are checked; default `connectingStoreProbe()`. */
  storeProbe?: StoreProbe;
  /** How often a MessageDomain whose Secret or store is not there yet is checked again. Default 30 s. */
  notReadyRequeueMs?: number;
  /**
   * How often a healthy MessageDomain's store is probed again, so a store that dies turns the domain
   * `Ready=False` without waiting for the resync. Default 30 s.
   */
  storeProbeIntervalMs?: number;
  /**
   * How often what no watch sees is read again for a healthy resource: a Gateway's Secrets (a rotated token or
   * certificate rolls its pods) and peer links, an AgentEndpoint's queue. Default 30 s.
   */
  refreshIntervalMs?: number;
  /** Event write failures (reconciles go on). */
  onError?: (what: string, error: unknown) => void;
}

type AnyResource = CustomResource<string, unknown, BaseStatus>;

/** Default of `notReadyRequeueMs`: how soon something no watch sees (a Secret, a store) is checked again. */
export const DEFAULT_NOT_READY_REQUEUE_MS = 30_000;
/** Default of `refreshIntervalMs`. */
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;

/** The kind of a child the spec may drop. */
export interface OptionalKind {
  apiVersion: string;
  kind: string;
}
export const SERVICE: OptionalKind = { apiVersion: "v1", kind: "Service" };
export const HORIZONTAL_POD_AUTOSCALER: OptionalKind = {
  apiVersion: "autoscaling/v2",
  kind: "HorizontalPodAutoscaler",
};
export const NETWORK_POLICY: OptionalKind = { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy" };
export const DEPLOYMENT: OptionalKind = { apiVersion: "apps/v1", kind: "Deployment" };
export const SECRET: OptionalKind = { apiVersion: "v1", kind: "Secret" };

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

/** The result of a reconcile that found nothing: the resource is gone, garbage collection takes its children. */
export const NOT_FOUND: ReconcileResult = { found: false, statusWritten: false };
/** The result of a reconcile of a resource being deleted: no finalizer to run, garbage collection does the rest. */
export const BEING_DELETED: ReconcileResult = { found: true, statusWritten: false };

/** Runs pure builders; a BuildError (the spec is invalid) comes back as `InvalidSpec` conditions instead. */
export function buildOrBlock<C>(build: () => C): { children: C } | { blocked: ConditionUpdate[] } {
  try {
    return { children: build() };
  } catch (error) {
    if (error instanceof BuildError) return { blocked: blockedConditions("InvalidSpec", error.message) };
    throw error;
  }
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

  /** The plural of the kind this reconciler writes status to. */
  protected abstract readonly plural: string;

  abstract reconcile(namespace: string, name: string): Promise<ReconcileResult>;

  /** Reads a custom resource of this group in `namespace`; undefined when absent. */
  protected async get<R extends AnyResource>(
    kind: string,
    namespace: string,
    name: string,
  ): Promise<R | undefined> {
    const header = { apiVersion: CRD_API_VERSION, kind, metadata: { name, namespace } };
    return await this.objects.read<R & KubernetesObject>(header);
  }

  /**
   * Applies a child and records an Event when it was created or changed. When it cannot (a name taken by an
   * object BMN does not control, or the apiserver refuses it), the owner's conditions say why (`NameConflict`
   * or `ApplyFailed`, with the apiserver's message), a Warning Event is recorded on the transition, and a
   * `ReportedApplyFailure` is thrown so that the work queue retries with its capped exponential backoff.
   */
  protected async applyChild<T extends KubernetesObject>(owner: AnyResource, child: ChildObject): Promise<T> {
    let applied: Applied<T>;
    try {
      applied = await this.objects.apply<T>(child);
    } catch (error) {
      const failure = applyFailure(child, error);
      if (failure === undefined) throw error;
      await this.writeStatus(owner, this.plural, blockedConditions(failure.reason, failure.message), {});
      throw new ReportedApplyFailure(failure, { cause: error });
    }
    await this.record(owner, [childEvent(applied.change, applied.object)]);
    return applied.object;
  }

  /**
   * Applies an optional child the spec asks for, or deletes the one of that kind and name the spec no longer
   * asks for (when this owner controls it).
   */
  protected async applyOrDelete(
    owner: AnyResource,
    wanted: ChildObject | undefined,
    kind: OptionalKind,
    name: string,
  ): Promise<void> {
    if (wanted !== undefined) await this.applyChild(owner, wanted);
    else await this.deleteChild(owner, { ...kind, metadata: { name, namespace: owner.metadata.namespace } });
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
    // A later update of a type replaces an earlier one (e.g. a Gateway's missing peer Secret over `Degraded`).
    const merged = [...new Map(updates.map((update) => [update.type, update])).values()];
    const status = nextStatus<S>(resource, merged, extra, this.now());
    let statusWritten: boolean;
    try {
      statusWritten = await this.statusWriter.write(resource, plural, status);
    } catch (error) {
      // Deleted while this reconcile ran: nothing left to report on.
      if (isNotFound(error)) return { found: false, statusWritten: false };
      throw error;
    }
    await this.record(resource, conditionEvents(previous, merged, watched));
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
