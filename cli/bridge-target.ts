import { UsageError } from "./errors.js";

export type BridgeKind = "legacy" | "amqp" | "kafka";

const SCHEMES: Record<string, BridgeKind> = {
  "amqp:": "amqp",
  "amqps:": "amqp",
  "kafka:": "kafka",
};

/**
 * Which bridge a `bmn bridge` target names: a kind, or a URL whose scheme picks it (`amqp://`, `amqps://`,
 * `kafka://`; `redis://` and `rediss://` only with `--legacy`, since a Redis may as well be a BMN store).
 */
export function bridgeKindOf(target: string, legacyFlag: boolean): BridgeKind {
  if (target === "legacy" || target === "amqp" || target === "kafka") return target;
  // Not new URL(): `kafka://a:9092,b:9092` (a broker list) is no WHATWG URL.
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(target)?.[1]?.toLowerCase();
  if (scheme === undefined)
    throw new UsageError(`bridge target must be legacy, amqp, kafka or a URL, got ${JSON.stringify(target)}`);
  if (scheme === "redis:" || scheme === "rediss:") {
    if (legacyFlag) return "legacy";
    throw new UsageError(
      `${scheme}// may be a BMN store or a legacy network: add --legacy to bridge the legacy Beast Mode network there (bmn doctor ${target} tells which)`,
    );
  }
  const kind = SCHEMES[scheme];
  if (kind === undefined)
    throw new UsageError(
      `no bridge for ${scheme}// URLs: use redis:// (with --legacy), amqp://, amqps:// or kafka://`,
    );
  return kind;
}
