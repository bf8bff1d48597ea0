/**
 * Reads a Gateway's peer links from one of its replicas (`GET /v1/topology` through its Service, which answers
 * without a token by default), for `status.peers`. Under mTLS nothing without a client certificate may call the
 * gateway, so the links are not read then.
 */
import { gatewayTopologySchema } from "../../core/api/topology-api.js";
import type { GatewayStatus } from "../../core/crds/gateway.js";
import { gatewayServiceUrl, requiresClientCert } from "../builders/gateway.js";
import type { Gateway } from "../k8s-types.js";

const DEFAULT_TIMEOUT_MS = 3_000;
const MAX_ERROR_LENGTH = 1_024;

export type PeerLinks = Pick<GatewayStatus, "peers" | "peersError">;

export interface GatewayLinkOptions {
  /** Where the operator reaches a Gateway's admin routes; default its Service's in-cluster URL. */
  gatewayAdminUrl?: (gateway: Gateway) => string;
  /** Default 3 s. */
  linkReadTimeoutMs?: number;
}

function errorText(error: unknown): string {
  const text =
    error instanceof Error
      ? error.cause instanceof Error
        ? error.cause.message
        : error.message
      : String(error);
  return text.slice(0, MAX_ERROR_LENGTH);
}

export async function readPeerLinks(gateway: Gateway, options: GatewayLinkOptions = {}): Promise<PeerLinks> {
  if (requiresClientCert(gateway))
    return { peersError: "not read: under mTLS the gateway answers only peers with a client certificate" };
  const url = `${(options.gatewayAdminUrl ?? gatewayServiceUrl)(gateway)}/v1/topology`;
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(options.linkReadTimeoutMs ?? DEFAULT_TIMEOUT_MS),
    });
    if (!response.ok) return { peersError: `GET ${url} answered ${String(response.status)}` };
    const topology = gatewayTopologySchema.parse(await response.json());
    return {
      peers: topology.links.map((link) => ({
        name: link.peer,
        state: link.state,
        breaker: link.breaker,
        backlog: link.backlog.depth,
        ...(link.lastError === undefined ? {} : { lastError: link.lastError.slice(0, MAX_ERROR_LENGTH) }),
      })),
    };
  } catch (error) {
    return { peersError: `GET ${url}: ${errorText(error)}` };
  }
}
