/**
 * One controller, whatever the kind: events of the primary resource, of its children (mapped to the
 * controlling owner through the owner reference) and of related resources (e.g. the MessageDomain an
 * AgentEndpoint names) feed a per-object work queue whose handler is the kind's reconciler. A periodic resync
 * requeues every cached primary; a reconcile may ask to run again after a delay.
 */
import { randomUUID } from "node:crypto";
import { performance } from "node:perf_hooks";
import type { KubernetesObject } from "@kubernetes/client-node";
import type { InformerPool, SharedInformer, WatchedResource } from "./informer-pool.js";
import type { Reconciler } from "../reconcilers/base.js";
import { keyOf, ownerKey, splitKey } from "./object-keys.js";
import { WorkQueue, type WorkQueueOptions } from "./work-queue.js";

export type WatchVerb = "add" | "update" | "delete";

/** Another resource whose changes requeue primaries; `keys` picks which from the primary cache. */
export interface RelatedResource {
  resource: WatchedResource;
  keys(object: KubernetesObject, verb: WatchVerb, primaries: readonly KubernetesObject[]): string[];
}

export interface ControllerDefinition {
  primary: WatchedResource;
  reconciler: Reconciler;
  /** Kinds this controller creates; their events requeue the controlling primary. */
  children: readonly WatchedResource[];
  related?: readonly RelatedResource[];
}

/** What identifies one reconcile in logs: the resource and an id unique to this run. */
export interface ReconcileFields {
  kind: string;
  namespace: string;
  name: string;
  reconcileID: string;
}

export interface ResourceControllerOptions {
  /** Every cached primary is requeued this often. Default 5 minutes; 0 turns resync off. */
  resyncMs?: number;
  queue?: WorkQueueOptions;
  /** Reconcile failures (they are retried), with the fields of the failed reconcile. */
  onError?: (what: string, error: unknown, fields?: ReconcileFields) => void;
  /** Every finished reconcile, for metrics and a debug line. */
  onReconciled?: (
    kind: string,
    seconds: number,
    outcome: "success" | "error",
    fields: ReconcileFields & { requeueAfterMs?: number },
  ) => void;
}

export class ResourceController {
  private readonly queue: WorkQueue;
  private readonly primaries: SharedInformer;
  private resyncTimer: NodeJS.Timeout | undefined;

  constructor(
    pool: InformerPool,
    readonly definition: ControllerDefinition,
    private readonly options: ResourceControllerOptions = {},
  ) {
    const { reconciler, primary } = definition;
    // The fields of a failed run, for the queue's error callback (one run per key at a time).
    const failedRuns = new Map<string, ReconcileFields>();
    this.queue = new WorkQueue(
      async (key) => {
        const { namespace, name } = splitKey(key);
        const fields: ReconcileFields = { kind: primary.kind, namespace, name, reconcileID: randomUUID() };
        const started = performance.now();
        const finished = (outcome: "success" | "error", requeueAfterMs?: number): void => {
          options.onReconciled?.(primary.kind, (performance.now() - started) / 1_000, outcome, {
            ...fields,
            ...(requeueAfterMs === undefined ? {} : { requeueAfterMs }),
          });
        };
        let result: Awaited<ReturnType<Reconciler["reconcile"]>>;
        try {
          result = await reconciler.reconcile(namespace, name);
        } catch (error) {
          finished("error");
          failedRuns.set(key, fields);
          throw error;
        }
        finished("success", result.requeueAfterMs);
        if (result.requeueAfterMs !== undefined) this.queue.addAfter(key, result.requeueAfterMs);
      },
      {
        ...options.queue,
        onError: (key, error, attempt) => {
          const fields = failedRuns.get(key);
          failedRuns.delete(key);
          options.queue?.onError?.(key, error, attempt);
          options.onError?.(`reconcile ${primary.kind} ${key} (attempt ${attempt})`, error, fields);
        },
      },
    );

    this.primaries = pool.informer(primary);
    const enqueue = (key: string | undefined): void => {
      if (key !== undefined) this.queue.add(key);
    };
    for (const verb of ["add", "update", "delete"] as const) {
      this.primaries.on(verb, (object) => {
        enqueue(keyOf(object));
      });
      for (const child of definition.children)
        pool.informer(child).on(verb, (object) => {
          enqueue(ownerKey(object, primary.kind));
        });
      for (const related of definition.related ?? [])
        pool.informer(related.resource).on(verb, (object) => {
          for (const key of related.keys(object, verb, this.primaries.list())) enqueue(key);
        });
    }
  }

  get kind(): string {
    return this.definition.primary.kind;
  }

  /** Starts the resync timer; the pool's informers deliver the initial list as `add` events. */
  start(): void {
    const resyncMs = this.options.resyncMs ?? 300_000;
    if (resyncMs > 0 && this.resyncTimer === undefined) {
      this.resyncTimer = setInterval(() => {
        this.resync();
      }, resyncMs);
      this.resyncTimer.unref();
    }
  }

  /** Requeues every cached primary. */
  resync(): void {
    for (const object of this.primaries.list()) {
      const key = keyOf(object);
      if (key !== undefined) this.queue.add(key);
    }
  }

  /** Stops the timer and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    this.resyncTimer = undefined;
    await this.queue.stop();
  }
}
