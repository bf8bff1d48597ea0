import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BmnClient } from "../../../client/index.js";
import { loadConfig } from "../../../runtime/config/load-config.js";
import { startSidecar, type RunningSidecar } from "../../../sidecar/start-sidecar.js";
import { a2aTasksOf } from "../../../store/roles/a2a-tasks.js";
import { openRawStream } from "./raw-stream.js";
import { rawRequest } from "./raw-request.js";
import { a2aSend } from "./a2a-requests.js";

const TOKEN = "s3cret-token-for-the-agent-api";

/** The optional agent API token (server.apiTokenFile / BMN_API_TOKEN_FILE): checked on every matched route. */
describe("sidecar API token", () => {
  const dir = mkdtempSync(join(tmpdir(), "bmn-token-"));
  let sidecar: RunningSidecar;

  beforeAll(async () => {
    const file = join(dir, "token");
    writeFileSync(file, `${TOKEN}\n`);
    sidecar = await startSidecar(loadConfig({ port: 0, logLevel: "silent" }, { BMN_API_TOKEN_FILE: file }), {
      logger: false,
    });
  });
  afterAll(async () => {
    await sidecar.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const unauthenticated = (answer: { status: number; body: string }) => {
    expect(answer.status).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({ errorCode: "UNAUTHENTICATED" });
  };

  it.each([
    ["GET", "/v1/agents/alice/messages"],
    ["GET", "/v1/%61gents/alice/messages"],
    ["GET", "/v1/agents/%61lice/messages"],
    ["GET", "/v1/dlq"],
    ["GET", "/v1/%64lq"],
    ["POST", "/v1/dlq/purge"],
    ["POST", "/v1/messages"],
    ["GET", "/v1/queues"],
    ["GET", "/v1/info"],
    ["GET", "/metrics"],
  ])("refuses %s %s without the token", async (method, path) => {
    unauthenticated(await rawRequest(sidecar.url, method, path));
  });

  it.each([
    "/v1/./agents/alice/messages",
    "/v1/x/../agents/alice/messages",
    "//v1/agents/alice/messages",
    "/V1/AGENTS/alice/messages",
    "/v1/agents/alice/messages/",
    "/v1/%2e/agents/alice/messages",
  ])("never serves %s without the token", async (path) => {
    const answer = await rawRequest(sidecar.url, "GET", path);
    expect([401, 404]).toContain(answer.status);
  });

  it("refuses a wrong token of any length, in either header", async () => {
    for (const wrong of ["x", `${TOKEN}x`, TOKEN.slice(0, -1), "s3cret-token-for-the-agent-apX"]) {
      unauthenticated(
        await rawRequest(sidecar.url, "GET", "/v1/queues", { authorization: `Bearer ${wrong}` }),
      );
      unauthenticated(await rawRequest(sidecar.url, "GET", "/v1/queues", { "bmn-api-token": wrong }));
    }
    unauthenticated(await rawRequest(sidecar.url, "GET", "/v1/queues", { authorization: `Basic ${TOKEN}` }));
  });

  it("serves the probes without a token and every route with it", async () => {
    expect((await rawRequest(sidecar.url, "GET", "/healthz")).status).toBe(200);
    expect((await rawRequest(sidecar.url, "GET", "/readyz")).status).toBe(200);
    expect(
      (await rawRequest(sidecar.url, "GET", "/v1/queues", { authorization: `Bearer ${TOKEN}` })).status,
    ).toBe(200);
    expect((await rawRequest(sidecar.url, "GET", "/metrics", { "bmn-api-token": TOKEN })).status).toBe(200);
  });

  it("takes a bridged remote's push with its task's push token alone; the API token does not replace it", async () => {
    const sent = await rawRequest(
      sidecar.url,
      "POST",
      "/a2a/alice",
      { authorization: `Bearer ${TOKEN}`, "content-type": "application/json" },
      JSON.stringify(a2aSend),
    );
    const taskId = (JSON.parse(sent.body) as { result: { task: { id: string } } }).result.task.id;
    const link = { remote: "alice", taskId: "r-1", contextId: "c-1", pushToken: "the-push-token" };
    await a2aTasksOf(sidecar.store)?.linkRemoteTask(taskId, JSON.stringify(link));
    const push = (headers: Record<string, string>) =>
      rawRequest(
        sidecar.url,
        "POST",
        `/v1/a2a/tasks/${taskId}/remote-push`,
        { "content-type": "application/a2a+json", ...headers },
        JSON.stringify({
          statusUpdate: { taskId: "r-1", contextId: "c-1", status: { state: "TASK_STATE_WORKING" } },
        }),
      );
    unauthenticated(await push({ authorization: `Bearer ${TOKEN}` }));
    unauthenticated(await push({}));
    expect((await push({ "x-a2a-notification-token": "the-push-token" })).status).toBe(204);
  });

  it("refuses a WebSocket stream without the token and opens one with it", async () => {
    const base = `${sidecar.url.replace("http", "ws")}/v1/agents/alice/stream`;
    expect(await openRawStream(base).refused).toBe(401);
    const stream = openRawStream(base, { authorization: `Bearer ${TOKEN}` });
    expect(await stream.refused).toBeUndefined();
    stream.socket.close();
    await stream.closed;
  });

  it("the client sends the token from BMN_API_TOKEN", async () => {
    const saved = process.env.BMN_API_TOKEN;
    process.env.BMN_API_TOKEN = TOKEN;
    try {
      const client = new BmnClient({ url: sidecar.url, agent: "alice" });
      const sent = await client.send({ to: "alice", type: "t", data: { hello: 1 } });
      expect(sent.id).toEqual(expect.any(String));
    } finally {
      if (saved === undefined) delete process.env.BMN_API_TOKEN;
      else process.env.BMN_API_TOKEN = saved;
    }
    await expect(
      new BmnClient({ url: sidecar.url, apiToken: "wrong-token" }).send({ to: "alice", type: "t" }),
    ).rejects.toMatchObject({ errorCode: "UNAUTHENTICATED", status: 401 });
  });
});
