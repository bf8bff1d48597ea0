import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../../runtime/config/load-config.js";

const dir = mkdtempSync(join(tmpdir(), "bmn-load-config-"));
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

function configFile(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

describe("loadConfig and a config file shared with the CLI", () => {
  it("skips the CLI's keys (url, agent, verbose) and reads the sidecar's", () => {
    const path = configFile(
      "shared.yaml",
      "url: http://127.0.0.1:7999\nagent: alice\nverbose: true\nport: 7999\ndomain: team-a\n",
    );
    const config = loadConfig({}, { BMN_CONFIG: path });
    expect(config).toMatchObject({ port: 7999, domain: "team-a" });
    expect(config).not.toHaveProperty("url");
    expect(config).not.toHaveProperty("agent");
  });

  it("still refuses an unknown key, naming it", () => {
    const path = configFile("typo.yaml", "agent: alice\nprot: 7999\n");
    expect(() => loadConfig({}, { BMN_CONFIG: path })).toThrow(ConfigError);
    expect(() => loadConfig({}, { BMN_CONFIG: path })).toThrow(/prot/);
  });
});

describe("loadConfig and startup subscriptions", () => {
  it("turns BMN_AGENT and BMN_SUBSCRIPTIONS into subscriptions, as the operator sets them", () => {
    const config = loadConfig({}, { BMN_AGENT: "reviewer", BMN_SUBSCRIPTIONS: "code.review.*, alerts.#" });
    expect(config.subscriptions).toEqual([
      { agent: "reviewer", pattern: "code.review.*" },
      { agent: "reviewer", pattern: "alerts.#" },
    ]);
    expect(loadConfig({}, {}).subscriptions).toEqual([]);
  });

  it("turns BMN_AGENT and BMN_UNSUBSCRIBE into unsubscriptions (patterns dropped from an AgentEndpoint)", () => {
    const config = loadConfig({}, { BMN_AGENT: "reviewer", BMN_UNSUBSCRIBE: "audit.#" });
    expect(config.unsubscriptions).toEqual([{ agent: "reviewer", pattern: "audit.#" }]);
    expect(loadConfig({}, {}).unsubscriptions).toEqual([]);
    expect(() => loadConfig({}, { BMN_UNSUBSCRIBE: "audit.#" })).toThrow(/BMN_UNSUBSCRIBE needs BMN_AGENT/);
  });

  it("refuses patterns without an agent, and a bad pattern naming the key", () => {
    expect(() => loadConfig({}, { BMN_SUBSCRIPTIONS: "alerts.#" })).toThrow(
      /BMN_SUBSCRIPTIONS needs BMN_AGENT/,
    );
    expect(() => loadConfig({}, { BMN_AGENT: "reviewer", BMN_SUBSCRIPTIONS: "a..b" })).toThrow(
      /config key subscriptions\.0\.pattern /,
    );
  });
});

describe("loadConfig and the sql store's old name tidb", () => {
  const url = "mysql://bmn@db:3306/bmn";
  const other = "mysql://bmn@other:3306/bmn";

  it("reads store.type tidb as sql, and store.tidb as well as store.sql", () => {
    const config = loadConfig({ store: { type: "tidb", tidb: { url } } }, {});
    expect(config.store.type).toBe("sql");
    expect(config.store.tidb?.url).toBe(url);
    expect(loadConfig({ store: { type: "sql", sql: { url } } }, {}).store.sql?.url).toBe(url);
  });

  it("reads BMN_STORE=tidb and BMN_TIDB_URL as BMN_STORE=sql and BMN_SQL_URL; BMN_SQL_URL wins", () => {
    const old = loadConfig({}, { BMN_STORE: "tidb", BMN_TIDB_URL: url });
    expect(old.store).toMatchObject({ type: "sql", sql: { urls: [url] } });
    const both = loadConfig({}, { BMN_STORE: "sql", BMN_TIDB_URL: other, BMN_SQL_URL: url });
    expect(both.store.sql?.urls).toEqual([url]);
  });

  it("refuses another store type, naming the accepted ones", () => {
    expect(() => loadConfig({}, { BMN_STORE: "postgres" })).toThrow(/memory, redis or sql/);
  });
});
