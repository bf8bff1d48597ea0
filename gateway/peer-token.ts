import { readFileSync } from "node:fs";
import type { GatewayConfig, ParsedGatewayConfig } from "../core/config.js";
import { ConfigError } from "../runtime/config/load-config.js";
import { readTokenFile } from "../runtime/http/secret-token.js";

/**
 * The gateway section with every peer's token in hand: a `tokenFile` (e.g. a mounted Kubernetes Secret) is read
 * once, at start, and one trailing newline (`echo … > file`, `kubectl create secret --from-file`) is dropped.
 * A file that cannot be read, or does not hold a valid token, is a ConfigError naming the key.
 */
export function resolvePeerTokens(
  config: ParsedGatewayConfig,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): GatewayConfig {
  return {
    ...config,
    peers: config.peers.map(({ token, tokenFile, ...peer }, index) => {
      if (token !== undefined) return { ...peer, token };
      const key = `gateway.peers.${String(index)}.tokenFile`;
      if (tokenFile === undefined)
        throw new ConfigError(`config key gateway.peers.${String(index)}.token is required`, { field: key });
      return { ...peer, token: readTokenFile(tokenFile, key, readFile) };
    }),
  };
}
