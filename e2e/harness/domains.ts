import { rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { GatewayConfigInput, SidecarConfigInput } from "../../core/config.js";
import { BmnProcess, PortInUseError, type BmnProcessOptions } from "../../test/harness/bmn-process.js";
import { onProcessExit } from "../../test/harness/exit-hooks.js";
import { freePort } from "../../test/harness/free-port.js";
import {
  startRedis,
  type RedisServerHandle,
  type RedisServerOptions,
} from "../../test/harness/redis-server.js";
import { ToxiproxyServer, type FaultyLink } from "../../test/harness/toxiproxy.js";
import { honestTrust } from "./link-trust.js";

/**
 * Several MessageDomains on one machine, each a real Redis (appendfsync always), a real `bmn start` sidecar with
 * cross-domain routing on, and one or more real `bmn gateway` processes, where every gateway-to-gateway
 * connection goes through a Toxiproxy proxy so that a test can cut, slow down or reset it. See
 * docs/testing-faults.md.
 *
 *   sidecar a ─┐                     ┌─ toxiproxy "a-to-b-gw0" ─→ gateway b#0 ─┐
 *              ├─ redis a ─ gateway a ┤                                         ├─ redis b ─ sidecar b
 *              │                     └─ toxiproxy "a-to-b-gw1" ─→ gateway b#1 ─┘
 *   (and for every link the same in the other direction: b's gateways reach a's through "b-to-a-gw<i>")
 */

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const POLL_INTERVAL_MS = 50;
const MAX_PORT_ATTEMPTS = 5;

/** Config dirs not yet removed by stop(); the processes themselves are ended by test/harness/process-group.ts. */
const configDirs = new Set<string>();

onProcessExit(() => {
  for (const dir of configDirs) rmSync(dir, { recursive: true, force: true });
});

/** Gateway settings a test may override; `peers` is always computed from the links. */
export type GatewayOverrides = Omit<GatewayConfigInput, "peers" | "host" | "port" | "id">;

/** Fast retries and breaker so that fault tests finish within seconds once a link heals. */
export const TEST_GATEWAY_DEFAULTS: GatewayOverrides = {
  batching: { maxMessages: 256, maxBytes: 1_048_576, maxDelayMs: 10 },
  retry: { maxForwardAttempts: 0, backoffBaseMs: 50, backoffMaxMs: 1_000 },
  breaker: { failureThreshold: 5, openMs: 1_000 },
  requestTimeoutMs: 5_000,
  routeRefreshMs: 500,
};

export interface DomainOptions {
  /** Gateway replicas of this domain (default: DomainsOptions.gatewaysPerDomain). */
  gateways?: number;
  /** Merged over the defaults and DomainsOptions.gateway for this domain's gateways. */
  gateway?: GatewayOverrides;
  /** Extra sidecar settings (delivery, limits…); domain, store, port and routing are set by the harness. */
  sidecar?: Omit<SidecarConfigInput, "domain" | "store" | "port" | "host" | "routing" | "gateway">;
  /** Configure the domain (its peers know it) but start its processes only on startDomain(). */
  startLater?: boolean;
}

export interface DomainsOptions {
  /** Domain names (DNS labels), e.g. ["a", "b"]. */
  domains: readonly string[];
  /** Undirected links; each becomes a proxy per direction and per gateway replica. Default: a chain. */
  links?: readonly (readonly [string, string])[];
  /** Gateway replicas per domain, default 1. */
  gatewaysPerDomain?: number;
  /** Merged over TEST_GATEWAY_DEFAULTS for every gateway. */
  gateway?: GatewayOverrides;
  perDomain?: Readonly<Record<string, DomainOptions>>;
  /** The shared token of a link (both directions); default `token-<a>-<b>` with a, b sorted. */
  token?: (a: string, b: string) => string;
  /** Each domain's Redis; default appendonly with appendfsync always (a benchmark may want no persistence). */
  redis?: RedisServerOptions;
  /** Replaces TEST_GATEWAY_DEFAULTS (e.g. a benchmark measuring the documented defaults). */
  gatewayDefaults?: GatewayOverrides;
  /** The `bmn.js` every process runs (default cli/bin/bmn.js through tsx), e.g. one compiled by tsc. */
  entry?: string;
  /** Node flags per process label, e.g. `--cpu-prof`. */
  nodeFlags?: (label: string) => readonly string[];
}

/** The proxies carrying one direction of a link, one per gateway replica of the target domain. */
export class DomainLink {
  constructor(
    readonly from: string,
    readonly to: string,
    readonly proxies: readonly FaultyLink[],
  ) {}

  /** Refuses new connections and closes open ones (every replica). */
  async cut(): Promise<void> {
    for (const proxy of this.proxies) await proxy.cut();
  }

  /** Drops all data silently until heal(). */
  async blackhole(): Promise<void> {
    for (const proxy of this.proxies) await proxy.blackhole();
  }

  /** Undoes cut() and blackhole(). */
  async heal(): Promise<void> {
    for (const proxy of this.proxies) await proxy.heal();
  }

  /** Removes every toxic and heals. */
  async reset(): Promise<void> {
    for (const proxy of this.proxies) await proxy.reset();
  }

  /** Runs `fault` on each proxy, e.g. `link.each((p) => p.latencyBothWays(5))`. */
  async each(fault: (proxy: FaultyLink) => Promise<unknown>): Promise<void> {
    for (const proxy of this.proxies) await fault(proxy);
  }
}

/** One MessageDomain: its Redis, sidecar and gateways. */
export class Domain {
  /** Set once the domain is started (at once, or by startDomain() for startLater domains). */
  redisHandle: RedisServerHandle | undefined;

  constructor(
    readonly name: string,
    readonly sidecar: BmnProcess,
    readonly gateways: readonly BmnProcess[],
  ) {}

  get started(): boolean {
    return this.redisHandle !== undefined;
  }

  get redis(): RedisServerHandle {
    if (this.redisHandle === undefined) throw new Error(`domain ${this.name} is not started`);
    return this.redisHandle;
  }

  /** Where agents of this domain talk to (HTTP API). */
  get sidecarUrl(): string {
    return this.sidecar.url;
  }

  gateway(index = 0): BmnProcess {
    const gateway = this.gateways[index];
    if (gateway === undefined) throw new Error(`domain ${this.name} has no gateway #${index}`);
    return gateway;
  }
}

/** N domains wired through Toxiproxy. Build with Domains.start(); always stop() in teardown. */
export class Domains {
  private readonly byName = new Map<string, Domain>();
  private readonly linkMap = new Map<string, DomainLink>();
  /** Config and proxies of each gateway replica, written and started by startDomain(). */
  private readonly gatewayPlans: GatewayPlan[] = [];
  private readonly sidecarPlans: SidecarPlan[] = [];
  /** `<domain>#<replica>` → the proxies whose upstream is that replica. */
  private readonly proxiesTo = new Map<string, FaultyLink[]>();

  private constructor(
    readonly toxiproxy: ToxiproxyServer,
    private readonly configDir: string,
    private readonly options: DomainsOptions,
  ) {}

  static async start(options: DomainsOptions): Promise<Domains> {
    const names = [...options.domains];
    if (new Set(names).size !== names.length || names.length === 0) {
      throw new Error(`domains must be distinct and at least one: ${names.join(", ")}`);
    }
    const links = options.links ?? names.slice(1).map((name, index) => [names[index] ?? name, name] as const);
    for (const [a, b] of links) {
      if (!names.includes(a) || !names.includes(b) || a === b) throw new Error(`bad link ${a}-${b}`);
    }
    const configDir = await mkdtemp(join(tmpdir(), "bmn-domains-"));
    configDirs.add(configDir);
    const toxiproxy = await ToxiproxyServer.start();
    const domains = new Domains(toxiproxy, configDir, options);
    try {
      await domains.build(options, names, links);
      const now = names.filter((name) => options.perDomain?.[name]?.startLater !== true);
      await settleAll(now.map((name) => domains.startDomain(name)));
      return domains;
    } catch (error) {
      await domains.stop();
      throw error;
    }
  }

  /** Plans ports, creates the proxies and writes every config file; starts nothing but Toxiproxy. */
  private async build(
    options: DomainsOptions,
    names: readonly string[],
    links: readonly (readonly [string, string])[],
  ): Promise<void> {
    const token = options.token ?? ((a: string, b: string): string => `token-${[a, b].sort().join("-")}`);
    const replicas = (name: string): number =>
      options.perDomain?.[name]?.gateways ?? options.gatewaysPerDomain ?? 1;

    // Gateway ports first: the proxies need them as upstreams before any gateway runs.
    const gatewayPorts = new Map<string, number[]>();
    for (const name of names) {
      const ports: number[] = [];
      for (let index = 0; index < replicas(name); index++) ports.push(await freePort());
      gatewayPorts.set(name, ports);
    }
    for (const [a, b] of links) {
      for (const [from, to] of [
        [a, b],
        [b, a],
      ] as const) {
        const proxies: FaultyLink[] = [];
        for (const [index, port] of (gatewayPorts.get(to) ?? []).entries()) {
          const proxy = await this.toxiproxy.createLink(`${HOST}:${port}`, `${from}-to-${to}-gw${index}`);
          proxies.push(proxy);
          const key = replicaKey(to, index);
          this.proxiesTo.set(key, [...(this.proxiesTo.get(key) ?? []), proxy]);
        }
        this.linkMap.set(linkKey(from, to), new DomainLink(from, to, proxies));
      }
    }

    for (const name of names) {
      const perDomain = options.perDomain?.[name] ?? {};
      const sidecarFile = join(this.configDir, `${name}-sidecar.json`);
      const sidecar = this.bmnProcess({
        label: `sidecar ${name}`,
        port: await freePort(),
        args: (current) => ["start", "--port", String(current)],
        env: { BMN_CONFIG: sidecarFile },
        readyPath: "/readyz",
      });
      const peers = links
        .filter(([a, b]) => a === name || b === name)
        .map(([a, b]) => (a === name ? b : a))
        .map((peer) => ({
          domain: peer,
          endpoints: this.link(name, peer).proxies.map((proxy) => proxy.url),
          token: token(name, peer),
          ...honestTrust(name, peer, links),
        }));
      const gateways = (gatewayPorts.get(name) ?? []).map((port, index) => {
        const id = `${name}-gw${index}`;
        const file = join(this.configDir, `${id}.json`);
        const gateway = this.bmnProcess({
          label: `gateway ${id}`,
          port,
          args: (current) => ["gateway", "--config", file, "--port", String(current)],
          // Also as BMN_CONFIG, in case the program's global --config option claims the flag.
          env: { BMN_CONFIG: file },
          readyPath: "/healthz",
          readyLine: new RegExp(`bmn gateway ${name} listening on https?://`),
        });
        const section = {
          ...(options.gatewayDefaults ?? TEST_GATEWAY_DEFAULTS),
          ...options.gateway,
          ...perDomain.gateway,
          host: HOST,
          id,
          peers,
        };
        this.gatewayPlans.push({ gateway, file, domain: name, index, section });
        return gateway;
      });
      this.sidecarPlans.push({ sidecar, file: sidecarFile, domain: name, extra: perDomain.sidecar ?? {} });
      this.byName.set(name, new Domain(name, sidecar, gateways));
    }
  }

  /** The domain by name. */
  domain(name: string): Domain {
    const domain = this.byName.get(name);
    if (domain === undefined) throw new Error(`no domain ${name}`);
    return domain;
  }

  get domains(): Domain[] {
    return [...this.byName.values()];
  }

  /** The proxies carrying traffic from `from`'s gateways to `to`'s gateways. */
  link(from: string, to: string): DomainLink {
    const link = this.linkMap.get(linkKey(from, to));
    if (link === undefined) throw new Error(`no link from ${from} to ${to}`);
    return link;
  }

  get links(): DomainLink[] {
    return [...this.linkMap.values()];
  }

  /** Cuts both directions between a and b. */
  async cut(a: string, b: string): Promise<void> {
    await this.link(a, b).cut();
    await this.link(b, a).cut();
  }

  /** Heals both directions between a and b. */
  async heal(a: string, b: string): Promise<void> {
    await this.link(a, b).heal();
    await this.link(b, a).heal();
  }

  /** Starts a domain's Redis, sidecar and gateways (for `startLater` domains; done by start() for the rest). */
  async startDomain(name: string): Promise<void> {
    const domain = this.domain(name);
    if (domain.started) return;
    const redis = await startRedis(this.options.redis ?? { appendOnly: true, appendFsyncAlways: true });
    domain.redisHandle = redis;
    const store = { type: "redis" as const, redis: { url: redis.url } };
    // The sidecar and the gateways do not depend on each other: start them side by side.
    const sidecars = this.sidecarPlans
      .filter((plan) => plan.domain === name)
      .map(async (pending) => {
        await this.startOnFreePort(pending.sidecar, async (port) => {
          const config: SidecarConfigInput = {
            ...pending.extra,
            domain: name,
            host: HOST,
            port,
            store,
            routing: { crossDomain: true },
          };
          await writeFile(pending.file, JSON.stringify(config, null, 2));
        });
      });
    const gateways = this.gatewayPlans
      .filter((plan) => plan.domain === name)
      .map((pending) => this.startGatewayPlan(pending, redis));
    await settleAll([...sidecars, ...gateways]);
  }

  /**
   * Stops one gateway replica (SIGTERM: it drains), merges `overrides` into its config, and starts it again on the
   * same port, e.g. with another compression algorithm.
   */
  async reconfigureGateway(domain: string, index: number, overrides: GatewayOverrides): Promise<void> {
    const plan = this.gatewayPlans.find(
      (candidate) => candidate.domain === domain && candidate.index === index,
    );
    if (plan === undefined) throw new Error(`domain ${domain} has no gateway #${index}`);
    await plan.gateway.stop();
    plan.section = { ...plan.section, ...overrides };
    await this.startGatewayPlan(plan, this.domain(domain).redis);
  }

  private async startGatewayPlan(plan: GatewayPlan, redis: RedisServerHandle): Promise<void> {
    await this.startOnFreePort(plan.gateway, async (port) => {
      const config: SidecarConfigInput = {
        domain: plan.domain,
        store: { type: "redis", redis: { url: redis.url } },
        routing: { crossDomain: true },
        gateway: { ...plan.section, port },
      };
      await writeFile(plan.file, JSON.stringify(config, null, 2));
      // The proxies toward this replica must follow it if it had to move.
      for (const proxy of this.proxiesTo.get(replicaKey(plan.domain, plan.index)) ?? []) {
        if (proxy.upstream !== `${HOST}:${port}`) await proxy.setUpstream(`${HOST}:${port}`);
      }
    });
  }

  private bmnProcess(options: Omit<BmnProcessOptions, "entry" | "nodeFlags">): BmnProcess {
    return new BmnProcess({
      ...options,
      ...(this.options.entry === undefined ? {} : { entry: this.options.entry }),
      nodeFlags: this.options.nodeFlags?.(options.label) ?? [],
    });
  }

  /** kill -9 of one gateway replica (no drain; its outbox leases expire and another replica or restart resumes). */
  async killGateway(domain: string, index = 0): Promise<void> {
    await this.domain(domain).gateway(index).kill();
  }

  /** Starts a gateway again on the same port and waits until it prints its listening line and /healthz is 200. */
  async startGateway(domain: string, index = 0): Promise<void> {
    await this.domain(domain).gateway(index).start();
  }

  /** Restarts a domain's Redis on the same port and data dir: `kill` = SIGKILL (crash), `stop` = SIGTERM. */
  async restartRedis(domain: string, how: "kill" | "stop" = "kill"): Promise<void> {
    const redis = this.domain(domain).redis;
    await (how === "kill" ? redis.kill() : redis.stop());
    await redis.start();
  }

  /** Waits until every started gateway of every started domain answers /healthz 200. */
  async untilHealthy(timeoutMs = READY_TIMEOUT_MS): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (const domain of this.domains.filter((candidate) => candidate.started)) {
      for (const gateway of domain.gateways) {
        for (;;) {
          try {
            const response = await fetch(`${gateway.url}/healthz`, { signal: AbortSignal.timeout(2_000) });
            await response.text();
            if (response.status === 200) break;
          } catch {
            // Not answering yet.
          }
          if (Date.now() > deadline) throw new Error(`${gateway.label} not healthy within ${timeoutMs} ms`);
          await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
        }
      }
    }
  }

  /** Stops every process (gateways first, then sidecars), Toxiproxy, and removes Redis data and config files. */
  async stop(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (step: () => Promise<void>): Promise<void> => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const domain of this.domains) {
      for (const gateway of domain.gateways) await attempt(() => gateway.stop());
    }
    for (const domain of this.domains) await attempt(() => domain.sidecar.stop());
    await attempt(() => this.toxiproxy.stop());
    for (const domain of this.domains) {
      const redis = domain.redisHandle;
      if (redis !== undefined) await attempt(() => redis.cleanup());
    }
    await attempt(async () => {
      await rm(this.configDir, { recursive: true, force: true });
      configDirs.delete(this.configDir);
    });
    if (errors.length > 0) throw new AggregateError(errors, "stopping the domains failed");
  }

  /** Writes the config for `process.port` and starts it; on EADDRINUSE moves it to a fresh port and tries again. */
  private async startOnFreePort(
    child: BmnProcess,
    configure: (port: number) => Promise<void>,
  ): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      await configure(child.port);
      try {
        await child.start();
        return;
      } catch (error) {
        if (!(error instanceof PortInUseError) || attempt >= MAX_PORT_ATTEMPTS) throw error;
        child.setPort(await freePort());
      }
    }
  }
}

/** A message a test sends into a domain through its sidecar's HTTP API. */
export interface OutgoingMessage {
  id: string;
  /** `agent@domain` for another domain. */
  to: string;
  type: string;
  data?: unknown;
  from?: string;
  priority?: number;
}

/**
 * Sends every message through `sidecarUrl()` the way a well-behaved agent does: a send that fails (sidecar down,
 * 5xx) is retried with the same id until the sidecar answers 202, which dedupe makes safe. `senders` loops share
 * the list in order (so each loop's sends are in order). Resolves with the accepted ids.
 */
export async function sendMessages(
  sidecarUrl: () => string,
  messages: readonly OutgoingMessage[],
  senders = 4,
): Promise<Set<string>> {
  const accepted = new Set<string>();
  let next = 0;
  await Promise.all(
    Array.from({ length: senders }, async () => {
      for (let message = messages[next++]; message !== undefined; message = messages[next++]) {
        await sendOne(sidecarUrl, message);
        accepted.add(message.id);
      }
    }),
  );
  return accepted;
}

/**
 * Sends one message through `sidecarUrl()`, retrying with the same id (dedupe makes that safe) while the sidecar
 * is down, times out or answers 5xx/429; throws when it refuses the message (another 4xx).
 */
export async function sendOne(sidecarUrl: () => string, message: OutgoingMessage): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      const response = await fetch(`${sidecarUrl()}/v1/messages`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(message),
        signal: AbortSignal.timeout(10_000),
      });
      const body = await response.text();
      if (response.status === 202) return;
      if (response.status < 500 && response.status !== 429)
        throw new SendRefused(`send ${message.id} answered ${response.status}: ${body}`);
    } catch (error) {
      if (error instanceof SendRefused) throw error;
      // Sidecar unreachable or timed out: the same id again.
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(500, 10 * 2 ** attempt)));
  }
}

class SendRefused extends Error {}

export interface DeliveryCounts {
  expected: number;
  /** Distinct expected ids delivered at least once. */
  delivered: number;
  /** Deliveries beyond the first of an id. */
  duplicates: number;
  /** Expected ids never delivered. */
  lost: number;
  /** Ids delivered that were not expected. */
  unexpected: number;
}

/** One delivered message as the agent processed it (first delivery of its id only). */
export interface ProcessedMessage {
  id: string;
  message: Record<string, unknown>;
  /** Date.now() when the delivery arrived. */
  at: number;
}

/**
 * An agent that receives from its sidecar with long polls, acks every delivery, and processes each message id once:
 * later deliveries of an id only count as duplicates. Tests assert zero duplicates anyway.
 */
export class DedupingAgent {
  /** id → times delivered. */
  readonly deliveries = new Map<string, number>();
  /** First deliveries, in the order this agent processed them. */
  readonly processed: ProcessedMessage[] = [];
  private receiving = false;
  private loops: Promise<void> = Promise.resolve();
  /** Acks given up because the lease was about to run out (those deliveries come back as duplicates). */
  acksAbandoned = 0;

  constructor(
    private readonly sidecarUrl: () => string,
    readonly agent: string,
    /** Lease seconds: long, so that a slow ack on a busy machine does not cause a redelivery. */
    private readonly leaseSeconds = 30,
  ) {}

  /** Starts `receivers` long-poll loops (1 keeps the processing order equal to the delivery order). */
  start(receivers = 1): this {
    if (this.receiving) return this;
    this.receiving = true;
    this.loops = Promise.all(Array.from({ length: receivers }, () => this.receiveLoop())).then(
      () => undefined,
    );
    return this;
  }

  /** Stops polling and waits for the loops to finish their current poll. */
  async stop(): Promise<void> {
    this.receiving = false;
    await this.loops;
  }

  /** Waits until every id was delivered at least once. */
  async untilDelivered(ids: Iterable<string>, timeoutMs = 60_000): Promise<void> {
    const wanted = [...ids];
    const deadline = Date.now() + timeoutMs;
    while (!wanted.every((id) => this.deliveries.has(id))) {
      if (Date.now() > deadline) {
        const missing = wanted.filter((id) => !this.deliveries.has(id));
        throw new Error(
          `${missing.length} of ${wanted.length} messages not delivered to ${this.agent} within ${timeoutMs} ms, ` +
            `e.g. ${missing.slice(0, 5).join(", ")}`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
  }

  counts(expected: Iterable<string>): DeliveryCounts {
    const wanted = new Set(expected);
    let delivered = 0;
    let duplicates = 0;
    let unexpected = 0;
    for (const [id, times] of this.deliveries) {
      if (wanted.has(id)) delivered++;
      else unexpected++;
      duplicates += times - 1;
    }
    return { expected: wanted.size, delivered, duplicates, lost: wanted.size - delivered, unexpected };
  }

  private isReceiving(): boolean {
    return this.receiving;
  }

  private async receiveLoop(): Promise<void> {
    while (this.isReceiving()) {
      try {
        const response = await fetch(
          `${this.sidecarUrl()}/v1/agents/${this.agent}/messages?max=100&wait=1&lease=${this.leaseSeconds}`,
          { signal: AbortSignal.timeout(10_000) },
        );
        if (response.status !== 200) {
          await response.text();
          throw new Error(`receive answered ${response.status}`);
        }
        const body = (await response.json()) as {
          deliveries?: { leaseId: string; message: Record<string, unknown> & { id: string } }[];
        };
        for (const delivery of body.deliveries ?? []) {
          const id = delivery.message.id;
          const times = (this.deliveries.get(id) ?? 0) + 1;
          this.deliveries.set(id, times);
          if (times === 1) this.processed.push({ id, message: delivery.message, at: Date.now() });
          await this.ack(delivery.leaseId);
        }
      } catch {
        // The sidecar is down or restarting: poll again shortly.
        await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      }
    }
  }

  /**
   * Acks, retrying while the sidecar cannot (unreachable, or 503 while its store is down or its store breaker is
   * open, 5 s by default) until the lease is about to run out, as a well-behaved agent does: an ack given up
   * earlier means a redelivery after the lease, which would count as a duplicate without any cross-domain fault.
   * (It used to give up after 20 tries 50 ms apart, so a Redis restart that opened the sidecar's store breaker
   * showed up as duplicates 30 s later.) A lease that expires anyway comes back and counts as a duplicate.
   */
  private async ack(leaseId: string): Promise<void> {
    const deadline = Date.now() + this.leaseSeconds * 1_000 - 1_000;
    for (let attempt = 0; Date.now() < deadline; attempt++) {
      try {
        const response = await fetch(`${this.sidecarUrl()}/v1/deliveries/${leaseId}/ack`, {
          method: "POST",
          signal: AbortSignal.timeout(10_000),
        });
        await response.text();
        if (response.status < 500) return;
      } catch {
        // Unreachable or timed out: try again.
      }
      await new Promise((resolve) => setTimeout(resolve, Math.min(500, POLL_INTERVAL_MS * 2 ** attempt)));
    }
    this.acksAbandoned++;
  }
}

interface GatewayPlan {
  gateway: BmnProcess;
  file: string;
  domain: string;
  index: number;
  section: Omit<GatewayConfigInput, "port">;
}

interface SidecarPlan {
  sidecar: BmnProcess;
  file: string;
  domain: string;
  extra: NonNullable<DomainOptions["sidecar"]>;
}

/** Like Promise.all, but waits for every promise to settle before rejecting with the first failure. */
async function settleAll(promises: readonly Promise<void>[]): Promise<void> {
  const results = await Promise.allSettled(promises);
  for (const result of results) if (result.status === "rejected") throw result.reason;
}

function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

function replicaKey(domain: string, index: number): string {
  return `${domain}#${index}`;
}
