/**
 * Leader election on a `coordination.k8s.io/v1` Lease, following client-go's leaderelection package: a
 * candidate takes the Lease when it is free or when its holder has not renewed it for `leaseDuration`
 * (measured on the candidate's own clock from when it last saw the record change, so clock skew between
 * nodes does not matter); the leader renews every `retryPeriod` and gives up leadership when it could not
 * renew for `renewDeadline`. Writes use the Lease's resourceVersion, so two candidates never both win.
 * On graceful shutdown the leader empties `holderIdentity`, and a standby takes over at its next try.
 */
import { ApiException, KubernetesObjectApi, type KubeConfig } from "@kubernetes/client-node";
import { raceTimeout } from "../core/race-timeout.js";

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  /** Unique per process: the pod name (or hostname) and pid. */
  identity: string;
  /** How long a holder that stopped renewing keeps the Lease. Default 15 s. */
  leaseDurationMs?: number;
  /** The leader gives up when it could not renew for this long; less than leaseDurationMs. Default 10 s. */
  renewDeadlineMs?: number;
  /** How often to try to acquire or renew. Default 2 s. */
  retryPeriodMs?: number;
  /** Called once this process holds the Lease. */
  onStartedLeading: () => void;
  /** Called once when a leader loses the Lease (not on stop()); the elector does not try again afterwards. */
  onStoppedLeading: () => void;
  /** Called when another identity is seen holding the Lease. */
  onNewLeader?: (identity: string) => void;
  /** Failed API calls (they are retried). */
  onError?: (error: unknown) => void;
  /** Each attempt that reached the Lease (acquired, renewed, or saw another holder): contention works. */
  onContended?: () => void;
}

export type LeaderState = "candidate" | "leading" | "lost" | "stopped";

/** A coordination.k8s.io/v1 Lease as plain JSON (MicroTime fields are RFC 3339 strings with microseconds). */
interface LeaseSpec {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion: "coordination.k8s.io/v1";
  kind: "Lease";
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseSpec;
}

function isStatus(error: unknown, code: number): boolean {
  return error instanceof ApiException && error.code === code;
}

/** metav1.MicroTime wants exactly six fractional digits; Date has three. */
function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, "000Z");
}

/** Rejects when `promise` takes longer than `ms`, so one hung request cannot outlive the renew deadline. */
function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  return raceTimeout(promise, ms, () => new Error(`${what} timed out after ${ms} ms`));
}

export class LeaderElector {
  private readonly api: KubernetesObjectApi;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  private stateValue: LeaderState = "candidate";
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private observedKey = "";
  private observedAt = 0;
  private lastRenewAt = 0;
  private lastHolder = "";

  constructor(
    kubeConfig: KubeConfig,
    private readonly options: LeaderElectionOptions,
  ) {
    this.api = KubernetesObjectApi.makeApiClient(kubeConfig);
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? 10_000;
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (!(this.renewDeadlineMs < this.leaseDurationMs))
      throw new Error("leader election: the renew deadline must be shorter than the lease duration");
    if (!(this.retryPeriodMs < this.renewDeadlineMs))
      throw new Error("leader election: the retry period must be shorter than the renew deadline");
  }

  get state(): LeaderState {
    return this.stateValue;
  }

  get isLeader(): boolean {
    return this.stateValue === "leading";
  }

  /** Starts trying to acquire the Lease in the background. */
  start(): void {
    this.loop ??= this.run();
  }

  /** Stops trying; a leader releases the Lease so that a standby takes over without waiting for expiry. */
  async stop(): Promise<void> {
    const wasLeader = this.stateValue === "leading";
    if (this.stateValue !== "lost") this.stateValue = "stopped";
    this.wake?.();
    await this.loop;
    if (wasLeader) await this.release();
  }

  private async run(): Promise<void> {
    while (this.active()) {
      let held = false;
      try {
        held = await withTimeout(
          this.tryAcquireOrRenew(),
          Math.max(1, this.renewDeadlineMs / 2),
          "lease update",
        );
        this.options.onContended?.();
      } catch (error) {
        this.options.onError?.(error);
      }
      // stop() may have run while the request was in flight.
      if (!this.active()) break;
      const now = Date.now();
      if (held) {
        this.lastRenewAt = now;
        if (this.stateValue === "candidate") {
          this.stateValue = "leading";
          this.options.onStartedLeading();
        }
      } else if (this.stateValue === "leading") {
        // Someone else holds it now, or renewing kept failing: two leaders must never act at once.
        const taken = this.lastHolder !== "" && this.lastHolder !== this.options.identity;
        if (taken || now - this.lastRenewAt >= this.renewDeadlineMs) {
          this.stateValue = "lost";
          this.options.onStoppedLeading();
          break;
        }
      }
      await this.sleep(this.retryPeriodMs);
    }
  }

  /** A method, not an inline check: the state changes across awaits (stop()), which narrowing cannot see. */
  private active(): boolean {
    return this.stateValue === "candidate" || this.stateValue === "leading";
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.leaseDurationMs / 1000));
  }

  private header(): Lease {
    const { namespace, name } = this.options;
    return { apiVersion: "coordination.k8s.io/v1", kind: "Lease", metadata: { name, namespace } };
  }

  /** True when this process holds the Lease after the call. */
  private async tryAcquireOrRenew(): Promise<boolean> {
    const { identity } = this.options;
    const now = Date.now();
    let lease: Lease;
    try {
      lease = await this.api.read<Lease>(this.header());
    } catch (error) {
      if (!isStatus(error, 404)) throw error;
      try {
        await this.api.create<Lease>({
          ...this.header(),
          spec: {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseSeconds(),
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: 0,
          },
        });
        this.lastHolder = identity;
        return true;
      } catch (createError) {
        if (isStatus(createError, 409)) return false; // another candidate created it first
        throw createError;
      }
    }

    const spec: LeaseSpec = lease.spec ?? {};
    const holder = spec.holderIdentity ?? "";
    const key = `${holder}|${lease.metadata.resourceVersion ?? ""}`;
    if (key !== this.observedKey) {
      this.observedKey = key;
      this.observedAt = now;
    }
    if (holder !== this.lastHolder) {
      this.lastHolder = holder;
      if (holder !== "" && holder !== identity) this.options.onNewLeader?.(holder);
    }
    const durationMs = (spec.leaseDurationSeconds ?? this.leaseSeconds()) * 1000;
    if (holder !== "" && holder !== identity && this.observedAt + durationMs > now) return false;

    const next: LeaseSpec =
      holder === identity
        ? { ...spec, leaseDurationSeconds: this.leaseSeconds(), renewTime: microTime(now) }
        : {
            holderIdentity: identity,
            leaseDurationSeconds: this.leaseSeconds(),
            acquireTime: microTime(now),
            renewTime: microTime(now),
            leaseTransitions: (spec.leaseTransitions ?? 0) + 1,
          };
    try {
      // metadata.resourceVersion makes this a compare-and-swap: a concurrent writer gets 409.
      await this.api.replace<Lease>({ ...lease, spec: next });
    } catch (error) {
      if (isStatus(error, 409)) return false;
      throw error;
    }
    this.lastHolder = identity;
    return true;
  }

  /** Empties holderIdentity if this process still holds the Lease (client-go's ReleaseOnCancel). */
  private async release(): Promise<void> {
    try {
      const lease = await withTimeout(
        this.api.read<Lease>(this.header()),
        this.renewDeadlineMs,
        "lease read",
      );
      if (lease.spec?.holderIdentity !== this.options.identity) return;
      const now = Date.now();
      const released: LeaseSpec = {
        leaseDurationSeconds: 1,
        acquireTime: microTime(now),
        renewTime: microTime(now),
        leaseTransitions: lease.spec.leaseTransitions ?? 0,
      };
      await withTimeout(
        this.api.replace<Lease>({ ...lease, spec: released }),
        this.renewDeadlineMs,
        "lease release",
      );
    } catch (error) {
      // Not fatal: the Lease then expires after leaseDuration and a standby takes over.
      this.options.onError?.(error);
    }
  }
}
