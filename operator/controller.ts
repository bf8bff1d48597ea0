/**
 * The AgentEndpoint controller: an informer (list + watch) on AgentEndpoints and one on the Deployments the
 * operator manages, both feeding a per-object work queue whose handler is `AgentEndpointReconciler.reconcile`.
 * A Deployment event maps back to its controlling AgentEndpoint through the owner reference, so a child
 * changed or deleted by hand is repaired. A periodic resync requeues every AgentEndpoint in the cache.
 */
import {
  AppsV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Deployment,
} from "@kubernetes/client-node";
import { AGENT_ENDPOINT_KIND } from "../core/crds/agent-endpoint.js";
import { CRD_API_VERSION, CRD_GROUP, CRD_VERSION } from "../core/crds/common.js";
import { LABEL_MANAGED_BY, MANAGED_BY } from "./builders/common.js";
import {
  AGENT_ENDPOINT_PLURAL,
  AgentEndpointReconciler,
  type ReconcilerOptions,
} from "./reconcile-agent-endpoint.js";
import { WorkQueue, type WorkQueueOptions } from "./work-queue.js";

export interface ControllerOptions extends ReconcilerOptions {
  /** Watch one namespace only; default all namespaces. */
  namespace?: string;
  /** Every AgentEndpoint in the cache is requeued this often. Default 5 minutes; 0 turns resync off. */
  resyncMs?: number;
  queue?: WorkQueueOptions;
  /** Reconcile failures and watch errors (both are retried). */
  onError?: (what: string, error: unknown) => void;
}

const WATCH_RESTART_BASE_MS = 500;
const WATCH_RESTART_MAX_MS = 30_000;

export function objectKey(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

function splitKey(key: string): { namespace: string; name: string } {
  const slash = key.indexOf("/");
  return { namespace: key.slice(0, slash), name: key.slice(slash + 1) };
}

/** The key of the AgentEndpoint controlling a child object, if any. */
export function ownerKey(child: KubernetesObject): string | undefined {
  const namespace = child.metadata?.namespace;
  const owner = child.metadata?.ownerReferences?.find(
    (ref) =>
      ref.controller === true && ref.apiVersion === CRD_API_VERSION && ref.kind === AGENT_ENDPOINT_KIND,
  );
  return namespace === undefined || owner === undefined ? undefined : objectKey(namespace, owner.name);
}

type ManagedInformer<T extends KubernetesObject> = Informer<T> & ObjectCache<T>;

export class AgentEndpointController {
  readonly reconciler: AgentEndpointReconciler;
  private readonly queue: WorkQueue;
  private readonly endpoints: ManagedInformer<KubernetesObject>;
  private readonly deployments: ManagedInformer<V1Deployment>;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private resyncTimer: NodeJS.Timeout | undefined;
  private running = false;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: ControllerOptions = {},
  ) {
    this.reconciler = new AgentEndpointReconciler(kubeConfig, options);
    this.queue = new WorkQueue(
      async (key) => {
        const { namespace, name } = splitKey(key);
        await this.reconciler.reconcile(namespace, name);
      },
      {
        ...options.queue,
        onError: (key, error, attempt) => {
          options.queue?.onError?.(key, error, attempt);
          options.onError?.(`reconcile ${key} (attempt ${attempt})`, error);
        },
      },
    );

    const customObjects = kubeConfig.makeApiClient(CustomObjectsApi);
    const apps = kubeConfig.makeApiClient(AppsV1Api);
    const { namespace } = options;
    const crPath =
      namespace === undefined
        ? `/apis/${CRD_GROUP}/${CRD_VERSION}/${AGENT_ENDPOINT_PLURAL}`
        : `/apis/${CRD_GROUP}/${CRD_VERSION}/namespaces/${namespace}/${AGENT_ENDPOINT_PLURAL}`;
    const crRequest = { group: CRD_GROUP, version: CRD_VERSION, plural: AGENT_ENDPOINT_PLURAL };
    this.endpoints = makeInformer<KubernetesObject>(
      kubeConfig,
      crPath,
      async () =>
        (namespace === undefined
          ? await customObjects.listCustomObjectForAllNamespaces({
              group: CRD_GROUP,
              version: CRD_VERSION,
              resourcePlural: AGENT_ENDPOINT_PLURAL,
            })
          : await customObjects.listNamespacedCustomObject({
              ...crRequest,
              namespace,
            })) as KubernetesListObject<KubernetesObject>,
    );
    const selector = `${LABEL_MANAGED_BY}=${MANAGED_BY}`;
    this.deployments = makeInformer<V1Deployment>(
      kubeConfig,
      namespace === undefined
        ? "/apis/apps/v1/deployments"
        : `/apis/apps/v1/namespaces/${namespace}/deployments`,
      () =>
        namespace === undefined
          ? apps.listDeploymentForAllNamespaces({ labelSelector: selector })
          : apps.listNamespacedDeployment({ namespace, labelSelector: selector }),
      selector,
    );

    const enqueueEndpoint = (object: KubernetesObject): void => {
      const name = object.metadata?.name;
      const ns = object.metadata?.namespace;
      if (name !== undefined && ns !== undefined) this.queue.add(objectKey(ns, name));
    };
    const enqueueOwner = (object: V1Deployment): void => {
      const key = ownerKey(object);
      if (key !== undefined) this.queue.add(key);
    };
    for (const verb of ["add", "update", "delete"] as const) {
      this.endpoints.on(verb, enqueueEndpoint);
      this.deployments.on(verb, enqueueOwner);
    }
    this.restartOnError("AgentEndpoint watch", this.endpoints);
    this.restartOnError("Deployment watch", this.deployments);
  }

  /** Starts both informers (each lists, then watches) and the resync timer. */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([this.endpoints.start(), this.deployments.start()]);
    const resyncMs = this.options.resyncMs ?? 300_000;
    if (resyncMs > 0) {
      this.resyncTimer = setInterval(() => {
        this.resync();
      }, resyncMs);
      this.resyncTimer.unref();
    }
  }

  /** Requeues every AgentEndpoint in the cache. */
  resync(): void {
    for (const endpoint of this.endpoints.list()) {
      const name = endpoint.metadata?.name;
      const namespace = endpoint.metadata?.namespace;
      if (name !== undefined && namespace !== undefined) this.queue.add(objectKey(namespace, name));
    }
  }

  /** Stops the watches and timers and waits for running reconciles to finish. */
  async stop(): Promise<void> {
    this.running = false;
    if (this.resyncTimer !== undefined) clearInterval(this.resyncTimer);
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    await Promise.all([this.endpoints.stop(), this.deployments.stop()]);
    await this.queue.stop();
  }

  /** An informer stops on a watch or list error; restart it with backoff while the controller runs. */
  private restartOnError(what: string, informer: Informer<KubernetesObject> | Informer<V1Deployment>): void {
    let delay = WATCH_RESTART_BASE_MS;
    informer.on("connect", () => {
      delay = WATCH_RESTART_BASE_MS;
    });
    informer.on("error", (error: unknown) => {
      this.options.onError?.(what, error);
      if (!this.running) return;
      const timer = setTimeout(() => {
        this.restartTimers.delete(timer);
        if (this.running)
          informer.start().catch((startError: unknown) => this.options.onError?.(what, startError));
      }, delay);
      this.restartTimers.add(timer);
      delay = Math.min(WATCH_RESTART_MAX_MS, delay * 2);
    });
  }
}
