import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { rawRequest } from "./raw-request.js";

/** BMN_PROBE_PORT: probes and metrics on their own listener, which serves nothing of the agent API. */
describe("sidecar probe listener", () => {
  let sidecar: RunningSidecar;
  let probeUrl: string;

  beforeAll(async () => {
    sidecar = await startSidecar(
      loadConfig(
        { port: 0, logLevel: "silent" },
        { BMN_PROBE_PORT: "0", BMN_PROBE_HOST: "127.0.0.1", BMN_API_TOKEN: "agent-api-token" },
      ),
      { logger: false },
    );
    probeUrl = sidecar.probe?.url ?? "";
  });
  afterAll(async () => {
    await sidecar.close();
  });

  it("serves /healthz, /readyz and /metrics without a token", async () => {
    expect(probeUrl).not.toBe(sidecar.url);
    for (const path of ["/healthz", "/readyz", "/metrics"])
      expect((await rawRequest(probeUrl, "GET", path)).status).toBe(200);
    expect((await rawRequest(probeUrl, "GET", "/metrics")).body).toContain("bmn_store_breaker_state");
  });

  it.each([
    ["GET", "/v1/info"],
    ["GET", "/v1/agents/alice/messages"],
    ["GET", "/v1/%61gents/alice/messages"],
    ["POST", "/v1/messages"],
    ["GET", "/v1/dlq"],
    ["GET", "/v1/queues"],
    ["GET", "/v1/agents/alice/stream"],
  ])("answers 404 to %s %s", async (method, path) => {
    const answer = await rawRequest(probeUrl, method, path);
    expect(answer.status).toBe(404);
    expect(JSON.parse(answer.body)).toMatchObject({ errorCode: "NOT_FOUND" });
  });

  it("keeps the agent API on its own host, behind its token", async () => {
    expect(new URL(sidecar.url).hostname).toBe("127.0.0.1");
    expect((await rawRequest(sidecar.url, "GET", "/v1/queues")).status).toBe(401);
  });
});
