/** Which domains a peer link is trusted for: a set of names, or any domain (`*`). */
export interface DomainAllowance {
  allows(domain: string): boolean;
  /** How the allowance reads in a refusal: `team-b` or `team-b, team-c`, or `any domain`. */
  readonly description: string;
}

function allowance(listed: readonly string[] | undefined, ownDomain: string): DomainAllowance {
  const domains = new Set(listed ?? [ownDomain]);
  if (domains.has("*")) return { allows: () => true, description: "any domain" };
  return { allows: (domain) => domains.has(domain), description: [...domains].join(", ") };
}

/** What one link's peer may do: inject messages of these origin domains, advertise routes to these domains. */
export interface PeerTrust {
  readonly origins: DomainAllowance;
  readonly routes: DomainAllowance;
}

/** A peer's trust from its config: `allowedOrigins` and `allowedRoutes`, each the peer's own domain when unset. */
export function peerTrust(peer: {
  domain: string;
  allowedOrigins?: readonly string[] | undefined;
  allowedRoutes?: readonly string[] | undefined;
}): PeerTrust {
  return {
    origins: allowance(peer.allowedOrigins, peer.domain),
    routes: allowance(peer.allowedRoutes, peer.domain),
  };
}
