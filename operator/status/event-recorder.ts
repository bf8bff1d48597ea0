/**
 * Records core/v1 Events on the operator's resources (what `kubectl describe` shows). Events are best
 * effort: a failed write is reported, never thrown into a reconcile. The same event for the same object is
 * recorded once within a window, a second guard besides reconcilers emitting only on change.
 */
import { hostname } from "node:os";
import { KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { FIELD_MANAGER } from "../kube-objects.js";

export type EventType = "Normal" | "Warning";

export interface OperatorEvent {
  type: EventType;
  /** CamelCase, e.g. `SecretNotFound`. */
  reason: string;
  message: string;
  /** Tells apart events that read the same but are about different things (e.g. a re-created child). */
  dedupeKey?: string;
}

/** The object an event is about. */
export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; uid: string; resourceVersion?: string | undefined };
}

/** What reconcilers need; tests may pass their own. */
export interface EventSink {
  record(subject: EventSubject, event: OperatorEvent): Promise<void>;
}

export interface EventRecorderOptions {
  /** `source.component` and `reportingComponent`. Default `bmn-operator`. */
  component?: string;
  /** `reportingInstance`. Default the host name (the pod name in a cluster). */
  instance?: string;
  /** An identical event for the same object within this window is dropped. Default 10 minutes. */
  dedupeMs?: number;
  onError?: (what: string, error: unknown) => void;
  now?: () => Date;
}

const MAX_REMEMBERED = 4_096;
/** The apiserver refuses longer messages. */
const MAX_MESSAGE = 1_024;

/** A remembered-event filter: `true` the first time a key is seen within `windowMs`. */
export class EventDeduper {
  private readonly seen = new Map<string, number>();

  constructor(private readonly windowMs: number) {}

  admit(key: string, nowMs: number): boolean {
    const last = this.seen.get(key);
    if (last !== undefined && nowMs - last < this.windowMs) return false;
    this.seen.delete(key);
    this.seen.set(key, nowMs);
    // Map keeps insertion order, so the first key is the oldest.
    if (this.seen.size > MAX_REMEMBERED) {
      const oldest = this.seen.keys().next().value;
      if (oldest !== undefined) this.seen.delete(oldest);
    }
    return true;
  }
}

export class EventRecorder implements EventSink {
  private readonly objects: KubernetesObjectApi;
  private readonly deduper: EventDeduper;
  private readonly component: string;
  private readonly instance: string;
  private readonly now: () => Date;

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: EventRecorderOptions = {},
  ) {
    this.objects = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.deduper = new EventDeduper(options.dedupeMs ?? 600_000);
    this.component = options.component ?? FIELD_MANAGER;
    this.instance = options.instance ?? hostname();
    this.now = options.now ?? (() => new Date());
  }

  async record(subject: EventSubject, event: OperatorEvent): Promise<void> {
    const now = this.now();
    const key = [subject.metadata.uid, event.type, event.reason, event.message, event.dedupeKey ?? ""].join(
      "\u0000",
    );
    if (!this.deduper.admit(key, now.getTime())) return;
    const { name, namespace, uid, resourceVersion } = subject.metadata;
    try {
      // A plain object: the client's model classes would need every field converted to instances.
      const body = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${name}.`, namespace },
        involvedObject: {
          apiVersion: subject.apiVersion,
          kind: subject.kind,
          name,
          namespace,
          uid,
          ...(resourceVersion === undefined ? {} : { resourceVersion }),
        },
        type: event.type,
        reason: event.reason,
        message: event.message.slice(0, MAX_MESSAGE),
        count: 1,
        firstTimestamp: now.toISOString(),
        lastTimestamp: now.toISOString(),
        source: { component: this.component },
        reportingComponent: this.component,
        reportingInstance: this.instance,
      };
      await this.objects.create(body);
    } catch (error) {
      this.options.onError?.(`event ${event.reason} on ${subject.kind} ${namespace}/${name}`, error);
    }
  }
}
