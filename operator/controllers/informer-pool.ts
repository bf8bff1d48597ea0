/**
 * Informers (list + watch + cache) shared by every controller: one per resource and label selector, so the
 * MessageDomain watch serves the MessageDomain controller and the controllers that follow domains, and the
 * Deployment watch serves AgentEndpoints and Gateways. An informer stopped by a watch or list error is
 * restarted with backoff while the pool runs.
 */
import {
  KubernetesObjectApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesObject,
  type ObjectCache,
} from "@kubernetes/client-node";

/** A resource to watch, e.g. `{ apiVersion: "apps/v1", kind: "Deployment", plural: "deployments" }`. */
export interface WatchedResource {
  apiVersion: string;
  kind: string;
  plural: string;
  labelSelector?: string;
}

export type SharedInformer = Informer<KubernetesObject> & ObjectCache<KubernetesObject>;

export interface InformerPoolOptions {
  /** Watch one namespace only; default all namespaces. */
  namespace?: string;
  /** Watch and list errors (all are retried). */
  onError?: (what: string, error: unknown) => void;
}

const WATCH_RESTART_BASE_MS = 500;
const WATCH_RESTART_MAX_MS = 30_000;

/** The REST path of a resource: core resources under `/api/v1`, others under `/apis/<group>/<version>`. */
export function resourcePath(
  resource: Pick<WatchedResource, "apiVersion" | "plural">,
  namespace?: string,
): string {
  const base = resource.apiVersion.includes("/")
    ? `/apis/${resource.apiVersion}`
    : `/api/${resource.apiVersion}`;
  return namespace === undefined
    ? `${base}/${resource.plural}`
    : `${base}/namespaces/${namespace}/${resource.plural}`;
}

export class InformerPool {
  private readonly informers = new Map<string, SharedInformer>();
  private readonly objects: KubernetesObjectApi;
  private readonly restartTimers = new Set<NodeJS.Timeout>();
  private running = false;

  constructor(
    private readonly kubeConfig: KubeConfig,
    private readonly options: InformerPoolOptions = {},
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
  }

  get namespace(): string | undefined {
    return this.options.namespace;
  }

  /** The informer for a resource, created on first use. Must be called before `start()`. */
  informer(resource: WatchedResource): SharedInformer {
    const key = `${resource.apiVersion}/${resource.plural}?${resource.labelSelector ?? ""}`;
    const existing = this.informers.get(key);
    if (existing !== undefined) return existing;
    if (this.running) throw new Error(`informer ${key} requested after the pool started`);
    const { namespace } = this.options;
    const informer = makeInformer<KubernetesObject>(
      this.kubeConfig,
      resourcePath(resource, namespace),
      () =>
        this.objects.list(
          resource.apiVersion,
          resource.kind,
          namespace,
          undefined,
          undefined,
          undefined,
          undefined,
          resource.labelSelector,
        ),
      resource.labelSelector,
    );
    this.restartOnError(`${resource.kind} watch`, informer);
    this.informers.set(key, informer);
    return informer;
  }

  /** Starts every informer (each lists, then watches). */
  async start(): Promise<void> {
    if (this.running) return;
    this.running = true;
    await Promise.all([...this.informers.values()].map((informer) => informer.start()));
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const timer of this.restartTimers) clearTimeout(timer);
    this.restartTimers.clear();
    await Promise.all([...this.informers.values()].map((informer) => informer.stop()));
  }

  private restartOnError(what: string, informer: SharedInformer): void {
    let delay = WATCH_RESTART_BASE_MS;
    informer.on("connect", () => {
      delay = WATCH_RESTART_BASE_MS;
    });
    informer.on("error", (error: unknown) => {
      // Stopping aborts every watch: that is not an error worth a line.
      if (!this.running) return;
      this.options.onError?.(what, error);
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
