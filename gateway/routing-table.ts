import { DNS_LABEL, DNS_LABEL_MAX } from "../core/names.js";
import type { DomainAllowance } from "./peer-trust.js";
import type { AdvertisedRoute } from "../core/api/gateway-api.js";

/** A configured link as the routing table sees it: the peer, and the domains it may advertise routes to. */
export interface RoutingLink {
  domain: string;
  routes: DomainAllowance;
}

/** What `linkUp` took from an advertisement, and why it ignored the rest (for the log). */
export interface AdvertisementOutcome {
  accepted: number;
  ignored: { domain: string; reason: string }[];
}

function isDomainName(name: unknown): name is string {
  return typeof name === "string" && name.length <= DNS_LABEL_MAX && DNS_LABEL.test(name);
}

export interface Route {
  /** The destination domain. */
  domain: string;
  /** Links to cross: 1 for a direct peer. */
  hops: number;
  /** The peer to hand messages for `domain` to. */
  nextHop: string;
  /** Domains from the next hop to the destination, both included. */
  path: string[];
}

/**
 * Distance-vector routing over the links of one gateway. Direct peers (from config) are links; each link is up or
 * down, and an up link contributes the routes its peer advertises, as far as the link trusts it to (`routes`
 * allowance, at most `maxRoutesPerPeer`, well-formed). A destination's route is the one with the fewest hops (ties:
 * the alphabetically first next hop), never through this domain (loop prevention) and never longer than `maxHops`;
 * a configured peer whose link is up is always reached over that link. Pure: the caller feeds probe results in and
 * reads the table out.
 */
export class RoutingTable {
  private readonly up = new Map<string, boolean>();
  private readonly trust = new Map<string, DomainAllowance>();
  private readonly advertised = new Map<string, AdvertisedRoute[]>();
  /**
   * Destinations that had a route and may come back (held, not unroutable), oldest first. Bounded: past
   * `maxKnown`, the longest unrouted ones are forgotten, so a peer churning through names cannot grow it.
   */
  private readonly everKnown = new Set<string>();
  private readonly maxKnown: number;

  constructor(
    readonly ownDomain: string,
    readonly maxHops: number,
    links: readonly RoutingLink[],
    readonly maxRoutesPerPeer = 256,
  ) {
    for (const link of links) {
      this.up.set(link.domain, false);
      this.trust.set(link.domain, link.routes);
      this.everKnown.add(link.domain);
    }
    this.maxKnown = links.length + 4 * maxRoutesPerPeer * Math.max(1, links.length);
  }

  get peers(): string[] {
    return [...this.up.keys()];
  }

  isPeer(domain: string): boolean {
    return this.up.has(domain);
  }

  isUp(peer: string): boolean {
    return this.up.get(peer) === true;
  }

  /**
   * A probe of `peer` answered with the routes it advertises: the link is up, and the routes the link trusts it
   * with replace what it advertised before. Ignored: malformed names and paths, routes to domains outside the
   * link's allowance, to configured peers or to this domain, longer than `maxHops`, and any past the cap.
   */
  linkUp(peer: string, routes: readonly AdvertisedRoute[]): AdvertisementOutcome {
    const trust = this.trust.get(peer);
    if (trust === undefined) return { accepted: 0, ignored: [] };
    this.up.set(peer, true);
    const kept = new Map<string, AdvertisedRoute>();
    const ignored: AdvertisementOutcome["ignored"] = [];
    for (const route of routes) {
      const reason = this.refusal(peer, trust, route);
      if (reason !== undefined) {
        ignored.push({ domain: route.domain.slice(0, DNS_LABEL_MAX), reason });
        continue;
      }
      // The peer itself is its direct link, not a learned route (and not counted against the cap).
      if (route.domain === peer) continue;
      const current = kept.get(route.domain);
      if (current !== undefined) {
        if (route.hops < current.hops) kept.set(route.domain, route);
      } else if (kept.size < this.maxRoutesPerPeer) kept.set(route.domain, route);
      else
        ignored.push({
          domain: route.domain,
          reason: `over the cap of ${this.maxRoutesPerPeer} routes per peer`,
        });
    }
    this.advertised.set(peer, [...kept.values()]);
    this.remember(this.routes().map((route) => route.domain));
    return { accepted: kept.size, ignored };
  }

  /** Why a route advertised by `peer` is not taken, or undefined. */
  private refusal(peer: string, trust: DomainAllowance, route: AdvertisedRoute): string | undefined {
    const { domain, hops, path } = route;
    if (!isDomainName(domain)) return "the domain is not a DNS label";
    if (!Array.isArray(path) || !path.every(isDomainName)) return "the path is not a list of DNS labels";
    if (path[0] !== peer) return `the path does not start at the peer ${peer}`;
    if (path.at(-1) !== domain) return "the path does not end at the domain";
    if (!Number.isInteger(hops) || path.length !== hops + 1) return "hops do not match the path";
    if (new Set(path).size !== path.length) return "the path has a loop";
    if (hops + 1 > this.maxHops) return `over the hop limit of ${this.maxHops}`;
    if (domain === peer) return undefined;
    if (domain === this.ownDomain || path.includes(this.ownDomain))
      return "the path leads through this domain";
    // Configured links win over learned routes: a peer is reached over its own link, up or down (then it waits).
    if (this.up.has(domain)) return "a configured link reaches that domain";
    if (!trust.allows(domain)) return `the link to ${peer} may advertise only ${trust.description}`;
    return undefined;
  }

  /** Marks `domains` as known (most recent last) and forgets the oldest unrouted ones past `maxKnown`. */
  private remember(domains: readonly string[]): void {
    for (const domain of domains) {
      this.everKnown.delete(domain);
      this.everKnown.add(domain);
    }
    if (this.everKnown.size <= this.maxKnown) return;
    const routed = new Set(domains);
    for (const domain of this.everKnown) {
      if (this.everKnown.size <= this.maxKnown) break;
      if (!this.up.has(domain) && !routed.has(domain)) this.everKnown.delete(domain);
    }
  }

  /** The link to `peer` died (failed probes, breaker open): its routes vanish. */
  linkDown(peer: string): void {
    if (!this.up.has(peer)) return;
    this.up.set(peer, false);
    this.advertised.delete(peer);
  }

  /** The current best route to every reachable domain, sorted by domain. */
  routes(): Route[] {
    const best = new Map<string, Route>();
    const consider = (route: Route): void => {
      if (route.domain === this.ownDomain || route.hops > this.maxHops) return;
      if (route.path.includes(this.ownDomain)) return;
      const current = best.get(route.domain);
      if (
        current === undefined ||
        route.hops < current.hops ||
        (route.hops === current.hops && route.nextHop < current.nextHop)
      )
        best.set(route.domain, route);
    };
    for (const [peer, isUp] of this.up) {
      if (!isUp) continue;
      consider({ domain: peer, hops: 1, nextHop: peer, path: [peer] });
      for (const advertised of this.advertised.get(peer) ?? []) {
        consider({
          domain: advertised.domain,
          hops: advertised.hops + 1,
          nextHop: peer,
          path: advertised.path,
        });
      }
    }
    return [...best.values()].sort((a, b) => a.domain.localeCompare(b.domain));
  }

  route(domain: string): Route | undefined {
    return this.routes().find((route) => route.domain === domain);
  }

  /**
   * Where a message for `domain` goes next: its route's next hop; else the peer itself when `domain` is a direct
   * peer whose link is down (keep trying it: a static link); else undefined.
   */
  nextHop(domain: string): string | undefined {
    return this.route(domain)?.nextHop ?? (this.isPeer(domain) ? domain : undefined);
  }

  /** True when `domain` had a route (or is a peer) and was not forgotten since, so a missing route may come back. */
  wasKnown(domain: string): boolean {
    return this.everKnown.has(domain);
  }

  /** What this gateway tells its peers: itself (0 hops) and every route, with this domain prepended to the path. */
  advertisement(): AdvertisedRoute[] {
    return [
      { domain: this.ownDomain, hops: 0, path: [this.ownDomain] },
      ...this.routes()
        .filter((route) => route.hops < this.maxHops)
        .map((route) => ({ domain: route.domain, hops: route.hops, path: [this.ownDomain, ...route.path] })),
    ];
  }
}
