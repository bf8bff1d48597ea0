import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { rawRequest } from "./raw-http.js";
import { startTopology, tokenFor, type DomainNode, type Topology } from "./gateway-fixture.js";

/** Every spelling of `path` a router might decode, fold or normalise into a real route. */
function spellings(path: string): string[] {
  const [, first = "", ...rest] = path.split("/");
  const tail = rest.join("/");
  const encodedChar = (text: string, index: number): string =>
    `${text.slice(0, index)}%${text.charCodeAt(index).toString(16)}${text.slice(index + 1)}`;
  return [
    path,
    `/${encodedChar(first, 0)}/${tail}`,
    `/${first}/${encodedChar(tail, 0)}`,
    `/${first}/${encodedChar(tail, 0).toUpperCase()}`,
    `/${first}/${tail.replace(/\//g, "%2F")}`,
    `//${first}/${tail}`,
    `/${first}//${tail}`,
    `${path}//`,
    `/${first}/./${tail}`,
    `/${first}/x/../${tail}`,
    `/${first}/%2e/${tail}`,
    `/${first}/x/%2e%2e/${tail}`,
    `${path}/.`,
    path.toUpperCase(),
    `/${first}/${tail.charAt(0).toUpperCase()}${tail.slice(1)}`,
    `${path}/`,
    `${path};`,
    `${path};token=x`,
    `${path}?`,
    `${path}?x=1`,
    `${path}%00`,
    `${path}%20`,
  ];
}

const message = {
  specversion: "1.0",
  id: "0190a5d0-0000-7000-8000-0000000000aa",
  source: "bmn://a/mallory",
  type: "task.created",
  to: "victim@b",
  from: "mallory@a",
  bmnvia: "a",
};

describe("gateway auth runs on the route the router matched", () => {
  let topology: Topology;
  let b: DomainNode;

  beforeAll(async () => {
    topology = await startTopology(["a", "b"], [["a", "b"]], {
      perDomain: { b: { publicAdminRoutes: false } },
    });
    b = topology.node("b");
  });
  afterAll(async () => {
    await topology.close();
  });

  it("refuses every spelling of the peer routes without a token: 401 or 4xx, never 2xx, never data", async () => {
    const answers: string[] = [];
    for (const route of ["/v1/gateway/batches", "/v1/gateway/routes"]) {
      for (const path of spellings(route)) {
        for (const method of ["GET", "POST", "HEAD"]) {
          const answer = await rawRequest(
            b.gatewayPort,
            method,
            path,
            { "content-type": "application/json", "bmn-source-domain": "a" },
            method === "POST" ? JSON.stringify({ messages: [message] }) : undefined,
          );
          answers.push(`${method} ${path} ${String(answer.status)}`);
          expect(answer.status, `${method} ${path}`).toBeGreaterThanOrEqual(400);
          expect(answer.status, `${method} ${path}`).toBeLessThan(500);
          expect(answer.text, `${method} ${path}`).not.toMatch(/"routes"|"results"/);
          if (method !== "HEAD")
            expect(JSON.parse(answer.text), `${method} ${path}`).toMatchObject({
              errorCode: expect.stringMatching(/^[A-Z_]+$/) as unknown,
              message: expect.any(String) as unknown,
            });
        }
      }
    }
    expect(answers.some((line) => line.startsWith("POST /v1/%67ateway/batches 401"))).toBe(true);
    // Nothing got in.
    expect((await b.store.queueStats("victim")).depth).toBe(0);
    expect(await b.store.traceOf(message.id)).toEqual([]);
  });

  it("requires a peer token on every route but the health probe (deny by default)", async () => {
    const server = b.gateway?.server;
    if (server === undefined) throw new Error("b has no gateway");
    // Every route the server has, as `METHOD /path`, from fastify's own listing.
    const routes: { method: string; path: string }[] = [];
    let current = "";
    for (const line of server.printRoutes({ commonPrefix: false }).split("\n")) {
      const match = /[─└├│ ]*(\/\S*) \(([A-Z, ]+)\)/.exec(line);
      if (match === null) continue;
      current = match[1] ?? current;
      for (const method of (match[2] ?? "").split(", ")) routes.push({ method, path: current });
    }
    expect(routes.map((route) => route.path)).toEqual(
      expect.arrayContaining(["/v1/gateway/batches", "/v1/gateway/routes", "/healthz", "/metrics"]),
    );
    for (const { method, path } of routes) {
      const answer = await rawRequest(b.gatewayPort, method, path);
      if (path === "/healthz") {
        expect(answer.status, `${method} ${path}`).toBe(200);
        continue;
      }
      expect(answer.status, `${method} ${path}`).toBe(401);
      expect(answer.headers["www-authenticate"], `${method} ${path}`).toBe("Bearer");
    }
    // With the link's token the same routes answer.
    const routesAnswer = await rawRequest(b.gatewayPort, "GET", "/v1/%67ateway/routes", {
      "bmn-source-domain": "a",
      authorization: `Bearer ${tokenFor("a", "b")}`,
    });
    expect(routesAnswer.status).toBe(200);
    expect(JSON.parse(routesAnswer.text)).toMatchObject({ domain: "b" });
  });

  it("answers 404 to an unmatched path without serving anything", async () => {
    for (const path of ["/v1/gateway", "/v1/gateway/", "/v1/gateway/batches/x", "/v2/gateway/routes", "/"]) {
      const answer = await rawRequest(b.gatewayPort, "GET", path);
      expect(answer.status, path).toBe(404);
      expect(JSON.parse(answer.text), path).toMatchObject({ errorCode: "NOT_FOUND" });
    }
  });

  it("keeps /metrics and /v1/topology open only while publicAdminRoutes is on (the default)", async () => {
    const a = topology.node("a");
    expect((await rawRequest(a.gatewayPort, "GET", "/metrics")).status).toBe(200);
    expect((await rawRequest(a.gatewayPort, "GET", "/v1/topology")).status).toBe(200);
    expect((await rawRequest(b.gatewayPort, "GET", "/v1/topology")).status).toBe(401);
  });
});
