import type { IncomingHttpHeaders } from "node:http";
import type { GatewayPeerConfig } from "../core/config.js";
import { tokenMatcher } from "../runtime/http/secret-token.js";
import { SOURCE_DOMAIN_HEADER } from "../core/api/gateway-api.js";

export type PeerAuth = { ok: true; peer: GatewayPeerConfig } | { ok: false; message: string };

/**
 * Checks that a request comes from a configured peer: `bmn-source-domain` names one of `peers`, and the Bearer
 * token equals that peer's token. The comparison is of SHA-256 digests in constant time, so it leaks neither the
 * token's content nor its length, and an unknown domain costs the same as a wrong token.
 */
export function authenticatePeer(
  headers: IncomingHttpHeaders,
  peers: ReadonlyMap<string, GatewayPeerConfig>,
): PeerAuth {
  const source = headers[SOURCE_DOMAIN_HEADER];
  if (typeof source !== "string" || source === "")
    return { ok: false, message: `missing ${SOURCE_DOMAIN_HEADER} header` };
  const authorization = headers.authorization;
  const match = typeof authorization === "string" ? /^Bearer\s+(\S+)\s*$/i.exec(authorization) : null;
  const token = match?.[1];
  if (token === undefined) return { ok: false, message: "missing Bearer token in the authorization header" };
  const peer = peers.get(source);
  // Compared even for an unknown domain, so that costs the same as a wrong token.
  const matches = tokenMatcher(peer?.token ?? "")(token);
  // The same answer for an unknown domain and a wrong token: a caller learns nothing about which peers exist.
  if (peer === undefined || !matches)
    return { ok: false, message: `token is not valid for the given ${SOURCE_DOMAIN_HEADER}` };
  return { ok: true, peer };
}
