import type { AdvertisedRoute } from "./wire-protocol.js";

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
 * down, and an up link contributes the routes its peer advertises. A destination's route is the one with the
 * fewest hops (ties: the alphabetically first next hop), never through this domain (loop prevention) and never
 * longer than `maxHops`. Pure: the caller feeds probe results in and reads the table out.
 */
export class RoutingTable {
  private readonly up = new Map<string, boolean>();
  private readonly advertised = new Map<string, AdvertisedRoute[]>();
  /** Every destination that ever had a route: a destination missing now may come back (held, not unroutable). */
  private readonly everKnown = new Set<string>();

  constructor(
    readonly ownDomain: string,
    readonly maxHops: number,
    peers: readonly string[],
  ) {
    for (const peer of peers) {
      this.up.set(peer, false);
      this.everKnown.add(peer);
    }
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

  /** A probe of `peer` answered with the routes it advertises: the link is up. */
  linkUp(peer: string, routes: readonly AdvertisedRoute[]): void {
    if (!this.up.has(peer)) return;
    this.up.set(peer, true);
    this.advertised.set(peer, [...routes]);
    for (const route of this.routes()) this.everKnown.add(route.domain);
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
        if (advertised.path[0] !== peer || advertised.path.length !== advertised.hops + 1) continue;
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

  /** True when `domain` had a route at some point (or is a peer), so a missing route may come back. */
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
