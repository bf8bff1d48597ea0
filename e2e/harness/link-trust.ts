/**
 * The domains `self` reaches through its link to `peer` without passing itself, over the undirected `links`: what
 * that link honestly carries, so a test topology's `allowedOrigins` and `allowedRoutes` for it (the peer first).
 */
export function domainsBehind(
  self: string,
  peer: string,
  links: readonly (readonly [string, string])[],
): string[] {
  const seen = new Set([peer]);
  const queue = [peer];
  for (let current = queue.shift(); current !== undefined; current = queue.shift()) {
    for (const [x, y] of links) {
      const next = x === current ? y : y === current ? x : undefined;
      if (next === undefined || next === self || seen.has(next)) continue;
      seen.add(next);
      queue.push(next);
    }
  }
  return [...seen];
}

/** A peer entry's trust for a test topology: the link may carry exactly the domains behind it. */
export function honestTrust(
  self: string,
  peer: string,
  links: readonly (readonly [string, string])[],
): { allowedOrigins: string[]; allowedRoutes: string[] } {
  const behind = domainsBehind(self, peer, links);
  return { allowedOrigins: behind, allowedRoutes: behind };
}
