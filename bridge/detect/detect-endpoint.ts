/**
 * `bmn doctor <url>`: looks at an address and says what answers there and which bridge fits. Each probe speaks the
 * protocol its URL scheme names (Redis, AMQP 0-9-1, Kafka, BMN's HTTP API), reads only, and is bounded in time.
 */
import { Redis } from "ioredis";
import { LEGACY_CHANNEL, PRESENCE_SET } from "../legacy/legacy-protocol.js";

export interface Finding {
  url: string;
  /** What answers: "legacy Beast Mode network on Redis 7.0.15", "RabbitMQ 3.10.8", ... */
  found: string;
  /** Facts that led there, one line each. */
  details: string[];
  /** The bridge that fits, or undefined when none is needed (a BMN sidecar, a BMN store). */
  bridge?: "legacy" | "amqp" | "kafka" | undefined;
  /** The command to run next. */
  next: string;
}

const PROBE_TIMEOUT_MS = 5_000;
/** Keys looked at when telling a legacy network from a BMN store; enough to tell, bounded on a big Redis. */
const SCAN_LIMIT = 10_000;

export async function detectEndpoint(url: string): Promise<Finding> {
  // Not new URL(): `kafka://a:9092,b:9092` (a broker list) is no WHATWG URL.
  const scheme = /^([a-z][a-z0-9+.-]*:)\/\//i.exec(url)?.[1]?.toLowerCase();
  switch (scheme) {
    case "redis:":
    case "rediss:":
      return detectRedis(url);
    case "amqp:":
    case "amqps:":
      return detectAmqp(url);
    case "kafka:":
      return detectKafka(url);
    case "http:":
    case "https:":
      return detectHttp(url);
    default:
      throw new Error(
        `no probe for ${scheme ?? "this"}// URLs: use redis://, amqp://, amqps://, kafka:// or http://`,
      );
  }
}

async function detectRedis(url: string): Promise<Finding> {
  const redis = new Redis(url, {
    lazyConnect: true,
    connectTimeout: PROBE_TIMEOUT_MS,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  redis.on("error", () => undefined);
  try {
    await redis.connect();
    const info = await redis.info("server");
    const version = /redis_version:(\S+)/.exec(info)?.[1] ?? "?";
    const [, subscribers] = (await redis.pubsub("NUMSUB", LEGACY_CHANNEL)) as [string, number];
    const presence = await redis.scard(PRESENCE_SET);
    let mailboxes = 0;
    let bmnKeys = 0;
    let cursor = "0";
    let scanned = 0;
    do {
      const [next, keys] = await redis.scan(cursor, "COUNT", 1_000);
      cursor = next;
      scanned += keys.length;
      for (const key of keys) {
        if (/^(beast:)?mailbox:[^:]+:in$/.test(key)) mailboxes++;
        else if (key.startsWith("bmn:")) bmnKeys++;
      }
    } while (cursor !== "0" && scanned < SCAN_LIMIT);
    const details = [
      `Redis ${version}`,
      `${subscribers} subscriber(s) on the legacy channel ${LEGACY_CHANNEL}`,
      `${presence} agent(s) in ${PRESENCE_SET}`,
      `${mailboxes} legacy mailbox stream(s)`,
      `${bmnKeys} BMN store key(s)${scanned >= SCAN_LIMIT ? ` (first ${SCAN_LIMIT} keys looked at)` : ""}`,
    ];
    const legacy = subscribers > 0 || presence > 0 || mailboxes > 0;
    if (legacy)
      return {
        url,
        found: `legacy Beast Mode network on Redis ${version}`,
        details,
        bridge: "legacy",
        next: `bmn bridge ${url} --legacy   (and bmn migrate legacy --redis-url ${url} --dry-run)`,
      };
    return {
      url,
      found:
        bmnKeys > 0 ? `a BMN store on Redis ${version}` : `Redis ${version} with no legacy network on it`,
      details,
      next: `BMN_STORE=redis BMN_REDIS_URL=${url} bmn start   (no bridge needed)`,
    };
  } finally {
    redis.disconnect();
  }
}

async function detectAmqp(url: string): Promise<Finding> {
  const { connect } = await import("amqplib");
  const connection = await connect(url, { timeout: PROBE_TIMEOUT_MS });
  try {
    const properties = (connection.connection as unknown as { serverProperties?: Record<string, unknown> })
      .serverProperties;
    const product = textOf(properties?.product) ?? "an AMQP 0-9-1 broker";
    const version = textOf(properties?.version) ?? "?";
    return {
      url,
      found: `${product} ${version} (AMQP 0-9-1)`,
      details: [`server properties: product ${product}, version ${version}`],
      bridge: "amqp",
      next: `bmn bridge ${url} --consume <queue>=<agent> --publish '<topic pattern>=<exchange>'`,
    };
  } finally {
    await connection.close().catch(() => undefined);
  }
}

async function detectKafka(url: string): Promise<Finding> {
  const { Admin } = await import("@platformatic/kafka");
  const brokers = url
    .replace(/^kafka:\/\//, "")
    .replace(/\/.*$/, "")
    .split(",");
  const admin = new Admin({
    clientId: "bmn-doctor",
    bootstrapBrokers: brokers,
    timeout: PROBE_TIMEOUT_MS,
    retries: 0,
  });
  try {
    const metadata = await admin.metadata({ topics: [] });
    const topics = await admin.listTopics();
    return {
      url,
      found: `Kafka cluster ${metadata.id} with ${metadata.brokers.size} broker(s)`,
      details: [`controller ${metadata.controllerId}`, `${topics.length} topic(s)`],
      bridge: "kafka",
      next: `bmn bridge ${url} --consume <topic>=<agent> --publish '<topic pattern>=<kafka topic>'`,
    };
  } finally {
    await admin.close().catch(() => undefined);
  }
}

async function detectHttp(url: string): Promise<Finding> {
  const response = await fetch(new URL("/healthz", url), { signal: AbortSignal.timeout(PROBE_TIMEOUT_MS) });
  const body = (await response.json().catch(() => undefined)) as Record<string, unknown> | undefined;
  const isBmn = response.ok && body !== undefined && typeof body.status === "string";
  return {
    url,
    found: isBmn ? "a BMN sidecar (HTTP API)" : `an HTTP server answering ${response.status} on /healthz`,
    details: [`GET /healthz → ${response.status}`],
    next: isBmn ? `BMN_URL=${url} bmn health   (no bridge needed)` : "no BMN bridge speaks this protocol",
  };
}

/** A server property as text: amqplib gives strings, or Buffers for byte strings. */
function textOf(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  return Buffer.isBuffer(value) ? value.toString("utf8") : undefined;
}
