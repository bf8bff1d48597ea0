import { describe, expect, it } from "vitest";
import { loadConfig } from "../../runtime/config/load-config.js";

/** The environment the operator renders into pods for the sidecar's boundary. */
describe("sidecar trust configuration", () => {
  it("reads BMN_AGENT (comma-separated), the probe listener and the API token from the environment", () => {
    const config = loadConfig(
      {},
      {
        BMN_HOST: "127.0.0.1",
        BMN_PROBE_HOST: "0.0.0.0",
        BMN_PROBE_PORT: "7421",
        BMN_AGENT: "reviewer, writer",
        BMN_API_TOKEN_FILE: "/var/run/secrets/bmn/token",
      },
    );
    expect(config).toMatchObject({
      host: "127.0.0.1",
      agents: ["reviewer", "writer"],
      server: { probeHost: "0.0.0.0", probePort: 7421, apiTokenFile: "/var/run/secrets/bmn/token" },
    });
  });

  it("defaults: unbound, no probe listener, no token, bounded HTTP servers", () => {
    const config = loadConfig({}, {});
    expect(config.agents).toBeUndefined();
    expect(config.server.probePort).toBeUndefined();
    expect(config.server.apiToken).toBeUndefined();
    expect(config.server.limits).toEqual({
      requestTimeoutMs: 30_000,
      headersTimeoutMs: 10_000,
      idleTimeoutMs: 120_000,
      keepAliveTimeoutMs: 5_000,
      maxConnections: 4_096,
    });
  });

  it("refuses a short token, a token given twice and an invalid agent name, naming the key", () => {
    expect(() => loadConfig({}, { BMN_API_TOKEN: "short" })).toThrow(/server\.apiToken/);
    expect(() => loadConfig({}, { BMN_API_TOKEN: "long-enough-token", BMN_API_TOKEN_FILE: "/x" })).toThrow(
      /server\.apiTokenFile/,
    );
    expect(() => loadConfig({}, { BMN_AGENT: "Not_A_Name" })).toThrow(/agents/);
  });
});
