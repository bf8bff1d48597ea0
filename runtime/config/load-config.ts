import { readFileSync } from "node:fs";
import { parse as parseYaml } from "yaml";
import { describeIssue } from "../../core/api/describe-issue.js";
import { sidecarConfigSchema, type SidecarConfig } from "../../core/config.js";
import { BmnError } from "../../core/errors.js";

/** Raised when start-up configuration is wrong: one line naming the key and what is allowed. */
export class ConfigError extends BmnError {
  constructor(message: string, options: { field?: string; cause?: unknown } = {}) {
    super("INVALID_ARGUMENT", message, options);
  }
}

type Tree = Record<string, unknown>;

/** `BMN_*` variables and the config key each one sets. */
const ENV_KEYS: Record<string, { path: string[]; parse: (value: string) => unknown }> = {
  BMN_HOST: { path: ["host"], parse: String },
  BMN_PORT: { path: ["port"], parse: toNumber },
  /** The agent(s) this sidecar serves, comma-separated; it refuses to act for any other. */
  BMN_AGENT: { path: ["agents"], parse: toList },
  BMN_PROBE_PORT: { path: ["server", "probePort"], parse: toNumber },
  BMN_PROBE_HOST: { path: ["server", "probeHost"], parse: String },
  BMN_API_TOKEN: { path: ["server", "apiToken"], parse: String },
  BMN_API_TOKEN_FILE: { path: ["server", "apiTokenFile"], parse: String },
  BMN_DOMAIN: { path: ["domain"], parse: String },
  BMN_STORE: { path: ["store", "type"], parse: String },
  BMN_REDIS_URL: { path: ["store", "redis", "url"], parse: String },
  BMN_REDIS_CLUSTER: { path: ["store", "redis", "cluster"], parse: toList },
  BMN_REDIS_ALLOW_EVICTION: { path: ["store", "redis", "allowEviction"], parse: toBoolean },
  /**
   * One URL or several, comma-separated: endpoints of one database (commas inside a URL as %2C). BMN_TIDB_URL is
   * the old name, still read; BMN_SQL_URL wins where both are set (it comes later).
   */
  BMN_TIDB_URL: { path: ["store", "sql", "urls"], parse: toList },
  BMN_SQL_URL: { path: ["store", "sql", "urls"], parse: toList },
  BMN_LOG_LEVEL: { path: ["logLevel"], parse: String },
  BMN_MAX_MESSAGE_BYTES: { path: ["limits", "maxMessageBytes"], parse: toNumber },
  BMN_OTEL_ENDPOINT: { path: ["otel", "endpoint"], parse: String },
  /** `true`/`false` (also `1`/`0`, `yes`/`no`): accept `name@other` into the outbox for a gateway. */
  BMN_ROUTING_CROSS_DOMAIN: { path: ["routing", "crossDomain"], parse: toBoolean },
};

/** Keys only the `bmn` CLI reads; one file may configure both, so the sidecar skips them (and the CLI skips ours). */
const CLI_ONLY_KEYS = new Set(["url", "agent", "verbose"]);

/**
 * The sidecar's configuration: defaults, then the file named by `BMN_CONFIG` (YAML or JSON), then `BMN_*`
 * environment variables, then explicit overrides (CLI flags), each overriding the one before.
 */
export function loadConfig(overrides: Tree = {}, env: NodeJS.ProcessEnv = process.env): SidecarConfig {
  const file = Object.fromEntries(
    Object.entries(
      env.BMN_CONFIG === undefined || env.BMN_CONFIG === "" ? {} : readConfigFile(env.BMN_CONFIG),
    ).filter(([key]) => !CLI_ONLY_KEYS.has(key)),
  );
  const fromEnv: Tree = {};
  for (const [name, { path, parse }] of Object.entries(ENV_KEYS)) {
    const value = env[name];
    if (value !== undefined && value !== "") setPath(fromEnv, path, parse(value));
  }
  const subscriptions = subscriptionsFromEnv(env, "BMN_SUBSCRIPTIONS");
  if (subscriptions !== undefined) fromEnv.subscriptions = subscriptions;
  const unsubscriptions = subscriptionsFromEnv(env, "BMN_UNSUBSCRIBE");
  if (unsubscriptions !== undefined) fromEnv.unsubscriptions = unsubscriptions;
  const a2aCards = a2aCardsFromEnv(env);
  if (a2aCards !== undefined) fromEnv.a2a = { agents: a2aCards };
  const merged = merge(merge(file, fromEnv), overrides);
  const result = sidecarConfigSchema.safeParse(merged);
  if (!result.success) {
    const { field, message } = describeIssue(result.error.issues[0], { whole: "config" });
    throw new ConfigError(field === undefined ? message : `config key ${message}`, {
      field: field ?? "",
      cause: result.error,
    });
  }
  return result.data;
}

export function readConfigFile(path: string): Tree {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (cause) {
    throw new ConfigError(`cannot read config file ${path}: ${(cause as Error).message}`, { cause });
  }
  let value: unknown;
  try {
    value = parseYaml(text); // YAML is a superset of JSON, so this reads both.
  } catch (cause) {
    throw new ConfigError(`config file ${path} is not valid YAML or JSON: ${(cause as Error).message}`, {
      cause,
    });
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new ConfigError(`config file ${path} must hold an object`);
  return value as Tree;
}

/**
 * `BMN_SUBSCRIPTIONS` or `BMN_UNSUBSCRIBE` (comma-separated patterns) for the agent `BMN_AGENT` names, as the
 * operator sets them.
 */
function subscriptionsFromEnv(
  env: NodeJS.ProcessEnv,
  name: "BMN_SUBSCRIPTIONS" | "BMN_UNSUBSCRIBE",
): { agent: string; pattern: string }[] | undefined {
  const patterns = (env[name] ?? "")
    .split(",")
    .map((pattern) => pattern.trim())
    .filter((pattern) => pattern !== "");
  if (patterns.length === 0) return undefined;
  const agents = toList(env.BMN_AGENT ?? "");
  if (agents.length === 0)
    throw new ConfigError(`${name} needs BMN_AGENT: the agent the patterns are for`, {
      field: name === "BMN_SUBSCRIPTIONS" ? "subscriptions" : "unsubscriptions",
    });
  return agents.flatMap((agent) => patterns.map((pattern) => ({ agent, pattern })));
}

/** `BMN_A2A_CARD` (the JSON of an AgentEndpoint's `a2a` section) for the agent `BMN_AGENT` names. */
function a2aCardsFromEnv(env: NodeJS.ProcessEnv): Tree | undefined {
  const json = env.BMN_A2A_CARD ?? "";
  if (json.trim() === "") return undefined;
  const agents = toList(env.BMN_AGENT ?? "");
  if (agents.length === 0)
    throw new ConfigError("BMN_A2A_CARD needs BMN_AGENT: the agent the card describes", {
      field: "a2a.agents",
    });
  let card: unknown;
  try {
    card = JSON.parse(json);
  } catch (cause) {
    throw new ConfigError(`BMN_A2A_CARD is not valid JSON: ${(cause as Error).message}`, {
      field: "a2a.agents",
      cause,
    });
  }
  return Object.fromEntries(agents.map((agent) => [agent, card]));
}

function toList(value: string): string[] {
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

function toNumber(value: string): unknown {
  const number = Number(value);
  return Number.isFinite(number) && value.trim() !== "" ? number : value;
}

/** A boolean variable's value; anything else is passed on as written, so the schema names the key. */
function toBoolean(value: string): unknown {
  const normalized = value.trim().toLowerCase();
  if (["true", "1", "yes", "on"].includes(normalized)) return true;
  if (["false", "0", "no", "off"].includes(normalized)) return false;
  return value;
}

function setPath(tree: Tree, path: string[], value: unknown): void {
  let node = tree;
  path.slice(0, -1).forEach((key) => {
    const next = node[key];
    if (typeof next !== "object" || next === null) node[key] = {};
    node = node[key] as Tree;
  });
  const last = path[path.length - 1];
  if (last !== undefined) node[last] = value;
}

function merge(base: Tree, over: Tree): Tree {
  const result: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = result[key];
    result[key] =
      isTree(value) && isTree(current) ? merge(current, value) : value === undefined ? current : value;
  }
  return result;
}

function isTree(value: unknown): value is Tree {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
