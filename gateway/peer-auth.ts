import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import type { GatewayPeerConfig } from "../core/config.js";
import { SOURCE_DOMAIN_HEADER } from "./wire-protocol.js";

export type PeerAuth = { ok: true; peer: GatewayPeerConfig } | { ok: false; message: string };

/**
 * Checks that a request comes from a configured peer: `bmn-source-domain` names one of `peers`, and the Bearer
 * token equals that peer's token (compared in constant time).
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
  // The same answer for an unknown domain and a wrong token: a caller learns nothing about which peers exist.
  if (peer === undefined || !sameSecret(token, peer.token))
    return { ok: false, message: `token is not valid for source domain ${source}` };
  return { ok: true, peer };
}

function sameSecret(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}
