import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import type * as Yaml from "yaml";
import { DEFAULT_URL } from "../client/index.js";
import { UsageError } from "./errors.js";

/** The YAML parser, loaded only when a config file is read: most `bmn` runs have none, and it costs ~10 ms. */
function parseYaml(text: string): unknown {
  const yaml = createRequire(import.meta.url)("yaml") as typeof Yaml;
  return yaml.parse(text);
}

/** What the global flags, the environment and the config file decide. */
export interface Settings {
  url: string;
  /** Where `url` came from: `--url`, `BMN_URL`, `BMN_HOST/BMN_PORT`, `config file <path>` or `default`. */
  urlSource: string;
  /** This CLI's agent name: whose queue `listen` and `receive` read; the default sender. */
  agent: string;
  verbose: boolean;
  /** The config file read, if any. */
  configFile: string | undefined;
}

export interface GlobalFlags {
  url?: string | undefined;
  config?: string | undefined;
  agent?: string | undefined;
  verbose?: boolean | undefined;
}

/** The keys `bmn` reads from a config file. Other keys (a sidecar config shares the file) are ignored. */
export interface FileConfig {
  url?: string;
  agent?: string;
  verbose?: boolean;
  /** A sidecar config's listen address; used to build the URL when `url` is absent. */
  host?: string;
  port?: number;
}

export const DEFAULT_AGENT = "cli";

/**
 * flags > environment > config file > defaults. The config file is `--config`, else `BMN_CONFIG`.
 * The URL, in order: `--url`, `BMN_URL`, `BMN_HOST`/`BMN_PORT` (what the sidecar listens on), the file's `url`,
 * the file's `host`/`port`, http://127.0.0.1:7420.
 */
export function resolveSettings(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): Settings {
  const configFile = nonEmpty(flags.config) ?? nonEmpty(env.BMN_CONFIG);
  const file = configFile === undefined ? {} : loadConfigFile(configFile, readFile);

  const candidates: [string | undefined, string][] = [
    [nonEmpty(flags.url), "--url"],
    [nonEmpty(env.BMN_URL), "BMN_URL"],
    [urlFromListen(nonEmpty(env.BMN_HOST), nonEmpty(env.BMN_PORT)), "BMN_HOST/BMN_PORT"],
    [file.url, `config file ${configFile ?? ""}`],
    [
      urlFromListen(file.host, file.port === undefined ? undefined : String(file.port)),
      `config file ${configFile ?? ""}`,
    ],
  ];
  const [url, urlSource] = candidates.find(([value]) => value !== undefined) ?? [DEFAULT_URL, "default"];
  return {
    url: checkUrl(url ?? DEFAULT_URL, urlSource),
    urlSource,
    agent: nonEmpty(flags.agent) ?? nonEmpty(env.BMN_AGENT) ?? file.agent ?? DEFAULT_AGENT,
    verbose: flags.verbose === true || isTrue(env.BMN_VERBOSE) || file.verbose === true,
    configFile,
  };
}

export function loadConfigFile(path: string, readFile: (path: string) => string): FileConfig {
  let text: string;
  try {
    text = readFile(path);
  } catch (cause) {
    const code = (cause as { code?: unknown }).code;
    const why = code === "ENOENT" ? "no such file" : cause instanceof Error ? cause.message : String(cause);
    throw new UsageError(`cannot read config file ${path}: ${why} (set by --config or BMN_CONFIG)`);
  }
  let value: unknown;
  try {
    value = parseYaml(text); // YAML is a superset of JSON, so this reads both.
  } catch (cause) {
    const why = cause instanceof Error ? (cause.message.split("\n")[0] ?? "") : String(cause);
    throw new UsageError(`config file ${path} is not valid YAML or JSON: ${why}`);
  }
  if (value === null || value === undefined) return {};
  if (typeof value !== "object" || Array.isArray(value)) {
    throw new UsageError(`config file ${path} must hold a mapping such as "url: http://127.0.0.1:7420"`);
  }
  const tree = value as Record<string, unknown>;
  const config: FileConfig = {};
  const text_ = (key: string): string | undefined => {
    const v = tree[key];
    if (v === undefined || v === null) return undefined;
    if (typeof v !== "string" || v === "") {
      throw new UsageError(
        `config file ${path}: ${key} must be a non-empty string, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  const url = text_("url");
  const agent = text_("agent");
  const host = text_("host");
  if (url !== undefined) config.url = url;
  if (agent !== undefined) config.agent = agent;
  if (host !== undefined) config.host = host;
  if (tree.port !== undefined && tree.port !== null) {
    const port = tree.port;
    if (typeof port !== "number" || !Number.isInteger(port) || port < 1 || port > 65_535) {
      throw new UsageError(`config file ${path}: port must be 1-65535, got ${JSON.stringify(port)}`);
    }
    config.port = port;
  }
  if (tree.verbose !== undefined && tree.verbose !== null) {
    if (typeof tree.verbose !== "boolean") {
      throw new UsageError(
        `config file ${path}: verbose must be true or false, got ${JSON.stringify(tree.verbose)}`,
      );
    }
    config.verbose = tree.verbose;
  }
  return config;
}

/** The URL to reach a sidecar listening on host:port; a wildcard listen address is reached on loopback. */
export function urlFromListen(host: string | undefined, port: string | undefined): string | undefined {
  if (host === undefined && port === undefined) return undefined;
  let target = host ?? "127.0.0.1";
  if (target === "0.0.0.0" || target === "::" || target === "[::]") target = "127.0.0.1";
  if (target.includes(":") && !target.startsWith("[")) target = `[${target}]`;
  return `http://${target}:${port ?? "7420"}`;
}

function checkUrl(url: string, source: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new UsageError(
      `${source} must be an http:// URL such as http://127.0.0.1:7420, got ${JSON.stringify(url)}`,
    );
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`${source} must be an http:// or https:// URL, got ${JSON.stringify(url)}`);
  }
  return url.replace(/\/+$/, "");
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}

function isTrue(value: string | undefined): boolean {
  return value !== undefined && ["1", "true", "yes", "on"].includes(value.trim().toLowerCase());
}
