import { BlockList, isIP } from "node:net";
import { BmnError } from "../../core/errors.js";

/**
 * Addresses a push may not reach: loopback, private, link-local, CGNAT, unspecified, IETF-reserved, benchmarking,
 * multicast and reserved IPv4 (RFC 1918, 6598, 3927, 6890, 2544, 5771); and IPv6 loopback, unique-local,
 * link-local, multicast, and the translation prefixes that carry an IPv4 address inside (NAT64, 6to4, Teredo).
 */
const PRIVATE = new BlockList();
for (const [network, prefix] of [
  ["0.0.0.0", 8],
  ["10.0.0.0", 8],
  ["100.64.0.0", 10],
  ["127.0.0.0", 8],
  ["169.254.0.0", 16],
  ["172.16.0.0", 12],
  ["192.0.0.0", 24],
  ["192.168.0.0", 16],
  ["198.18.0.0", 15],
  ["224.0.0.0", 3],
] as const)
  PRIVATE.addSubnet(network, prefix, "ipv4");
for (const [network, prefix] of [
  ["::", 128],
  ["::1", 128],
  ["64:ff9b::", 96],
  ["64:ff9b:1::", 48],
  ["2001::", 32],
  ["2002::", 16],
  ["fc00::", 7],
  ["fe80::", 10],
  ["ff00::", 8],
] as const)
  PRIVATE.addSubnet(network, prefix, "ipv6");

export function isPrivateAddress(address: string): boolean {
  const family = isIP(address);
  if (family === 0) return false;
  if (family === 6) {
    // ::ffff:127.0.0.1 is IPv4 in disguise.
    const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address)?.[1];
    if (mapped !== undefined) return PRIVATE.check(mapped, "ipv4");
    return PRIVATE.check(address, "ipv6");
  }
  return PRIVATE.check(address, "ipv4");
}

function hostOf(url: string): string {
  const host = new URL(url).hostname;
  return host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
}

function forbidden(url: string, address: string): BmnError {
  return new BmnError(
    "FORBIDDEN",
    `push URL ${url} points to ${address}, a loopback or private address, which a2a.push.allowPrivateUrls forbids`,
    { field: "url" },
  );
}

/**
 * Refuses a push URL whose host is written as a private address or is `localhost` (when they are forbidden): what
 * can be decided without DNS, when a client sets the config.
 */
export function checkPushUrlLiteral(url: string, allowPrivate: boolean): void {
  if (allowPrivate) return;
  const host = hostOf(url).toLowerCase();
  if (host === "localhost" || host.endsWith(".localhost") || isPrivateAddress(host))
    throw forbidden(url, host);
}
