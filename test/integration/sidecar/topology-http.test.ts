import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo, Socket } from "node:net";
import type { FastifyInstance } from "fastify";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { createMessage } from "../../../core/envelope.js";
import { loadConfig } from "../../../runtime/config/load-config.js";
import type { Topology } from "../../../gateway/topology.js";
import { buildServer } from "../../../sidecar/server/build-server.js";
import type { SidecarTopology } from "../../../core/api/topology-api.js";
import { GATEWAY_TOPOLOGY_TIMEOUT_MS } from "../../../sidecar/server/routes/topology-routes.js";
import { InMemoryStore } from "../../../store/memory/memory-store.js";
import { freePort } from "../../harness/free-port.js";

/** A gateway topology of domain `alpha` as `GET /v1/topology` on a gateway answers it. */
function gatewayTopology(overrides: Partial<Topology> = {}): Topology {
  return {
    domain: "alpha",
    gateway: "gw-alpha-0",
    domains: ["alpha", "beta", "gamma"],
    links: [
      {
        peer: "beta",
        endpoints: ["http://beta.example:7430"],
        endpoint: "http://beta.example:7430/",
        state: "up",
        breaker: "closed",
        lastProbeAt: 1_700_000_000_000,
        lastRttMs: 1.5,
        consecutiveProbeFailures: 0,
        lastError: undefined,
        backlog: { depth: 2, inFlight: 1, oldestAgeMs: 4_000 },
      },
    ],
    routes: [
      { domain: "beta", hops: 1, nextHop: "beta", path: ["beta"] },
      { domain: "gamma", hops: 2, nextHop: "beta", path: ["beta", "gamma"] },
    ],
    outboxes: [{ destination: "beta", depth: 2, inFlight: 1, oldestAgeMs: 4_000, nextHop: "beta" }],
    ...overrides,
  };
}

/** A stand-in admin endpoint: answers `GET /v1/topology` with what `respond` writes. */
async function fakeGateway(
  respond: (response: ServerResponse) => void,
): Promise<{ url: string; server: Server }> {
  const sockets = new Set<Socket>();
  const server = createServer((request, response) => {
    if (request.url !== "/v1/topology") {
      response.writeHead(404).end();
      return;
    }
    respond(response);
  });
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  server.on("close", () => {
    for (const socket of sockets) socket.destroy();
  });
  return { url: `http://127.0.0.1:${port}`, server };
}

const json =
  (status: number, body: unknown) =>
  (response: ServerResponse): void => {
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };

describe("GET /v1/topology on the sidecar", () => {
  const apps: FastifyInstance[] = [];
  const servers: Server[] = [];
  afterEach(async () => {
    await Promise.allSettled(apps.splice(0).map((app) => app.close()));
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
  });

  async function sidecar(gateways?: string[]): Promise<{ app: FastifyInstance; store: InMemoryStore }> {
    const store = new InMemoryStore({ domain: "alpha" });
    const app = await buildServer({
      store,
      logger: false,
      config: {
        domain: "alpha",
        logLevel: "silent",
        routing: { crossDomain: true, ...(gateways === undefined ? {} : { gateways }) },
      },
    });
    apps.push(app);
    return { app, store };
  }

  async function topologyOf(app: FastifyInstance): Promise<SidecarTopology> {
    const response = await app.inject({ method: "GET", url: "/v1/topology" });
    expect(response.statusCode).toBe(200);
    return response.json<SidecarTopology>();
  }

  async function sendTo(app: FastifyInstance, to: string, count: number): Promise<void> {
    for (let n = 0; n < count; n++) {
      const response = await app.inject({
        method: "POST",
        url: "/v1/messages",
        payload: { to, type: "task.created", data: { n } },
      });
      expect(response.statusCode).toBe(202);
    }
  }

  it("without gateways shows the domain and the backlog per destination from the store", async () => {
    const { app, store } = await sidecar();
    await sendTo(app, "bob@beta", 3);
    await sendTo(app, "carol@gamma", 1);
    await sendTo(app, "dave", 1);
    // A gateway holds one of beta's messages.
    expect(await store.receive("bmn.out.beta", { max: 1, leaseMs: 60_000 })).toHaveLength(1);

    expect(await topologyOf(app)).toEqual({
      domain: "alpha",
      crossDomain: true,
      domains: ["alpha"],
      outboxes: [
        {
          destination: "beta",
          queue: "bmn.out.beta",
          depth: 2,
          ready: 2,
          delayed: 0,
          inFlight: 1,
          deadLettered: 0,
          oldestAgeMs: null,
          nextHop: null,
        },
        {
          destination: "gamma",
          queue: "bmn.out.gamma",
          depth: 1,
          ready: 1,
          delayed: 0,
          inFlight: 0,
          deadLettered: 0,
          oldestAgeMs: null,
          nextHop: null,
        },
      ],
      gateways: [],
    });
  });

  it("an empty store answers no outboxes", async () => {
    const { app } = await sidecar();
    expect(await topologyOf(app)).toMatchObject({ domain: "alpha", outboxes: [], gateways: [] });
  });

  it("adds each listed gateway's links and routes, and the oldest age and next hop they report", async () => {
    const gateway = await fakeGateway(json(200, { ...gatewayTopology(), extra: "not passed on" }));
    servers.push(gateway.server);
    const { app, store } = await sidecar([gateway.url]);
    await store.enqueue("bmn.out.beta", createMessage({ to: "bob@beta", type: "t" }));
    await store.enqueue("bmn.out.delta", createMessage({ to: "bob@delta", type: "t" }));

    const topology = await topologyOf(app);
    expect(topology.domains).toEqual(["alpha", "beta", "gamma"]);
    expect(topology.outboxes).toMatchObject([
      { destination: "beta", depth: 1, oldestAgeMs: 4_000, nextHop: "beta" },
      // No gateway reports delta: its age and next hop are unknown.
      { destination: "delta", depth: 1, oldestAgeMs: null, nextHop: null },
    ]);
    expect(topology.gateways).toEqual([
      {
        url: gateway.url,
        reachable: true,
        topology: JSON.parse(JSON.stringify(gatewayTopology())) as Topology,
      },
    ]);
  });

  it("shows a gateway that refuses connections, answers an error or something else as unreachable", async () => {
    const failing = await fakeGateway(json(500, { errorCode: "INTERNAL" }));
    const wrong = await fakeGateway(json(200, { domain: "alpha", links: "nope" }));
    const good = await fakeGateway(json(200, gatewayTopology()));
    servers.push(failing.server, wrong.server, good.server);
    const closed = `http://127.0.0.1:${await freePort()}`;
    const { app } = await sidecar([closed, failing.url, wrong.url, good.url]);

    const topology = await topologyOf(app);
    expect(topology.gateways.map(({ url, reachable }) => ({ url, reachable }))).toEqual([
      { url: closed, reachable: false },
      { url: failing.url, reachable: false },
      { url: wrong.url, reachable: false },
      { url: good.url, reachable: true },
    ]);
    expect(topology.gateways[0]?.error).toMatch(/ECONNREFUSED/);
    expect(topology.gateways[1]?.error).toBe("answered 500");
    expect(topology.gateways[2]?.error).toMatch(/other than a gateway topology \(gateway /);
    expect(topology.gateways[0]?.topology).toBeUndefined();
    // The reachable one still counts.
    expect(topology.domains).toEqual(["alpha", "beta", "gamma"]);
  });

  it(`shows a gateway that does not answer within ${GATEWAY_TOPOLOGY_TIMEOUT_MS} ms as unreachable`, async () => {
    // Accepts the request and never answers.
    const silent = await fakeGateway(() => undefined);
    servers.push(silent.server);
    const { app } = await sidecar([silent.url]);
    const topology = await topologyOf(app);
    expect(topology.gateways).toEqual([
      { url: silent.url, reachable: false, error: `no answer within ${GATEWAY_TOPOLOGY_TIMEOUT_MS} ms` },
    ]);
  });

  it("ignores what a gateway of another domain says about outboxes", async () => {
    const other = await fakeGateway(
      json(200, gatewayTopology({ domain: "zeta", domains: ["zeta", "beta"] })),
    );
    servers.push(other.server);
    const { app, store } = await sidecar([other.url]);
    await store.enqueue("bmn.out.beta", createMessage({ to: "bob@beta", type: "t" }));
    const topology = await topologyOf(app);
    expect(topology.domains).toEqual(["alpha"]);
    expect(topology.outboxes).toMatchObject([{ destination: "beta", oldestAgeMs: null, nextHop: null }]);
    expect(topology.gateways[0]).toMatchObject({ reachable: true, topology: { domain: "zeta" } });
  });
});

describe("config routing.gateways", () => {
  let dummy: string;
  beforeAll(() => {
    dummy = "http://127.0.0.1:7430";
  });

  it("takes http(s) URLs and rejects others naming the key", () => {
    expect(loadConfig({ routing: { gateways: [dummy, "https://gw.example/admin"] } }, {}).routing).toEqual({
      crossDomain: false,
      gateways: [dummy, "https://gw.example/admin"],
    });
    expect(loadConfig({}, {}).routing.gateways).toBeUndefined();
    expect(() => loadConfig({ routing: { gateways: ["ftp://gw"] } }, {})).toThrow(/routing\.gateways\.0/);
    expect(() => loadConfig({ routing: { gateways: [dummy, dummy] } }, {})).toThrow(/routing\.gateways/);
  });
});
