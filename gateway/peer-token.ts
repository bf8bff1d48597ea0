import { readFileSync } from "node:fs";
import {
  GATEWAY_TOKEN_PATTERN,
  GATEWAY_TOKEN_RULE,
  type GatewayConfig,
  type ParsedGatewayConfig,
} from "../core/config.js";
import { ConfigError } from "../runtime/config/load-config.js";

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
      let text: string;
      try {
        text = readFile(tokenFile);
      } catch (cause) {
        throw new ConfigError(`config key ${key}: cannot read ${tokenFile}: ${(cause as Error).message}`, {
          field: key,
          cause,
        });
      }
      const fileToken = text.replace(/\r?\n$/, "");
      if (!GATEWAY_TOKEN_PATTERN.test(fileToken))
        throw new ConfigError(`config key ${key}: the token in ${tokenFile} ${GATEWAY_TOKEN_RULE}`, {
          field: key,
        });
      return { ...peer, token: fileToken };
    }),
  };
}
