import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import fc from "fast-check";
import { afterAll, describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import {
  gatewayConfigSchema,
  gatewayPeerConfigSchema,
  sidecarConfigSchema,
  type SidecarConfig,
} from "../../core/config.js";
import { agentEndpointSpecSchema } from "../../core/crds/agent-endpoint.js";
import { gatewaySpecSchema, type GatewaySpecInput } from "../../core/crds/gateway.js";
import { messageDomainSpecSchema, type MessageDomainSpecInput } from "../../core/crds/message-domain.js";
import { buildAgentEndpointChildren, SIDECAR_ARGS } from "../../operator/builders/agent-endpoint.js";
import { BuildError } from "../../operator/builders/common.js";
import {
  buildGatewayChildren,
  GATEWAY_CONFIG_KEY,
  gatewayChildName,
  gatewayServiceUrl,
  gatewaySidecarConfig,
} from "../../operator/builders/gateway.js";
import { buildDomainConfigMap, SIDECAR_CONFIG_KEY } from "../../operator/builders/message-domain.js";
import type {
  AgentEndpoint,
  ConfigMap,
  Container,
  Gateway,
  MessageDomain,
  Volume,
} from "../../operator/k8s-types.js";
import { ConfigError, loadConfig } from "../../runtime/config/load-config.js";
import { resolvePeerTokens } from "../../gateway/peer-token.js";

/**
 * What the operator renders is what the programs accept: the ConfigMaps parse with `sidecarConfigSchema` (and
 * the gateway section with `gatewayConfigSchema`), and a pod's files and env, put together the way the kubelet
 * does, load through `loadConfig` into the config `bmn start` / `bmn gateway` run with.
 */

const NAMESPACE = "agents";
const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function domain(spec: MessageDomainSpecInput = {}, name = "team-a"): MessageDomain {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "MessageDomain",
    metadata: { name, namespace: NAMESPACE, uid: "uid-domain" },
    spec: messageDomainSpecSchema.parse(spec),
  };
}

function gateway(spec: Partial<GatewaySpecInput> = {}): Gateway {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "Gateway",
    metadata: { name: "edge", namespace: NAMESPACE, uid: "uid-gateway" },
    spec: gatewaySpecSchema.parse({ domain: "team-a", ...spec }),
  };
}

function endpoint(extra: Record<string, unknown> = {}): AgentEndpoint {
  return {
    apiVersion: "beastmode.network/v1alpha1",
    kind: "AgentEndpoint",
    metadata: { name: "reviewer", namespace: NAMESPACE, uid: "uid-endpoint" },
    spec: agentEndpointSpecSchema.parse({
      domain: "team-a",
      agent: "reviewer",
      template: { spec: { containers: [{ name: "agent", image: "example/agent:1" }] } },
      ...extra,
    }),
  };
}

const redisDomain = (spec: MessageDomainSpecInput = {}): MessageDomain =>
  domain({
    store: { type: "redis", connection: { secretRef: { name: "team-a-redis", key: "url" } } },
    ...spec,
  });

const PEERS = [
  {
    name: "team-b",
    endpoints: ["https://gw-b-1.example:7430", "https://gw-b-2.example:7430"],
    tokenSecretRef: { name: "links", key: "team-b" },
  },
  { name: "team-c", endpoints: ["http://gw-c.example:7430/"], tokenSecretRef: { name: "team-c", key: "t" } },
];

/** Secrets of the namespace, by name and key, as the kubelet would resolve them. */
type Secrets = Record<string, Record<string, string>>;
const SECRETS: Secrets = {
  "team-a-redis": { url: "redis://:pw@redis-a:6379" },
  links: { "team-b": "token-for-team-b\n" },
  "team-c": { t: "token-for-team-c" },
};

/**
 * A container's view of its pod, as the kubelet builds it: ConfigMap volumes and projected Secret volumes
 * become files (here in a temp dir, keyed by their in-pod path), `secretKeyRef` env takes the Secret's value.
 */
interface PodView {
  env: NodeJS.ProcessEnv;
  /** In-pod path → temp file. */
  files: Map<string, string>;
  args: string[];
}

function podView(container: Container, volumes: readonly Volume[], configMaps: ConfigMap[]): PodView {
  const root = mkdtempSync(join(tmpdir(), "bmn-pod-"));
  dirs.push(root);
  const files = new Map<string, string>();
  const put = (inPod: string, content: string): void => {
    const local = join(root, inPod.replaceAll("/", "_"));
    writeFileSync(local, content);
    files.set(inPod, local);
  };
  for (const mount of container.volumeMounts ?? []) {
    expect(mount.readOnly, `${mount.name} is mounted read-only`).toBe(true);
    const volume = volumes.find((candidate) => candidate.name === mount.name);
    expect(volume, `volume ${mount.name}`).toBeDefined();
    if (volume?.configMap !== undefined) {
      const configMap = configMaps.find((candidate) => candidate.metadata.name === volume.configMap?.name);
      expect(configMap, `ConfigMap ${volume.configMap.name}`).toBeDefined();
      for (const [key, value] of Object.entries(configMap?.data ?? {}))
        put(`${mount.mountPath}/${key}`, value);
    }
    const projected = volume?.projected as
      { sources: { secret: { name: string; items: { key: string; path: string }[] } }[] } | undefined;
    for (const { secret } of projected?.sources ?? [])
      for (const item of secret.items) {
        const value = SECRETS[secret.name]?.[item.key];
        expect(value, `Secret ${secret.name} key ${item.key}`).toBeDefined();
        put(`${mount.mountPath}/${item.path}`, value ?? "");
      }
  }
  const env: NodeJS.ProcessEnv = {};
  for (const variable of container.env ?? []) {
    const ref = variable.valueFrom?.secretKeyRef;
    env[variable.name] = ref === undefined ? variable.value : SECRETS[ref.name]?.[ref.key];
  }
  // A file named by BMN_CONFIG is read from the pod's files.
  if (env.BMN_CONFIG !== undefined) env.BMN_CONFIG = files.get(env.BMN_CONFIG) ?? env.BMN_CONFIG;
  return { env, files, args: [...(container.args ?? [])] };
}

/** What `bmn gateway --config <file>` loads in the pod, peer tokens resolved from the projected files. */
function gatewayRunConfig(view: PodView): {
  sidecar: SidecarConfig;
  peers: { domain: string; token: string }[];
} {
  expect(view.args.slice(0, 2)).toEqual(["gateway", "--config"]);
  const inPod = view.args[2] ?? "";
  const file = view.files.get(inPod);
  expect(file, `the --config file ${inPod} is mounted`).toBeDefined();
  const sidecar = loadConfig({}, { ...view.env, BMN_CONFIG: file });
  const resolved = resolvePeerTokens(gatewayConfigSchema.parse(sidecar.gateway ?? {}), (path) => {
    const local = view.files.get(path);
    if (local === undefined) throw new Error(`ENOENT: no such file ${path}`);
    return readFileSync(local, "utf8");
  });
  return { sidecar, peers: resolved.peers.map(({ domain: peer, token }) => ({ domain: peer, token })) };
}

function gatewayPod(gw: Gateway, md: MessageDomain): PodView {
  const children = buildGatewayChildren(gw, md);
  const { spec } = children.deployment.spec.template;
  expect(spec.containers).toHaveLength(1);
  const [container] = spec.containers;
  if (container === undefined) throw new Error("no container");
  return podView(container, spec.volumes ?? [], [children.configMap]);
}

describe("Gateway → the config bmn gateway runs with", () => {
  it("renders domain, store, peers with token files, batching, compression, retry, breaker and policy", () => {
    const md = redisDomain({
      store: {
        type: "redis",
        connection: { secretRef: { name: "team-a-redis", key: "url" } },
        redis: { keyPrefix: "a:" },
      },
      routing: { crossDomain: true },
      policy: {
        allowedSourceDomains: ["team-b"],
        allowedSourceAgents: ["planner@team-b", "auditor"],
        allowedMessageTypes: ["review.*", "task.assign"],
        maxMessageBytes: 2 * 1024 * 1024,
        rateLimitPerPeer: { messagesPerSecond: 500 },
      },
    });
    const gw = gateway({
      peers: PEERS,
      port: 7431,
      batching: { maxMessages: 512, maxBytes: 2_048, maxDelayMs: 5 },
      compression: "brotli",
      retry: { maxAttempts: 7, backoff: { baseMs: 100, maxMs: 5_000 } },
      breaker: { failureThreshold: 3, openMs: 1_500 },
    });
    const { sidecar, peers } = gatewayRunConfig(gatewayPod(gw, md));
    expect(sidecar.domain).toBe("team-a");
    expect(sidecar.store).toEqual({
      type: "redis",
      redis: { keyPrefix: "a:", url: "redis://:pw@redis-a:6379" },
    });
    expect(sidecar.limits.maxMessageBytes).toBe(2 * 1024 * 1024);
    const config = gatewayConfigSchema.parse(sidecar.gateway);
    expect(config).toMatchObject({
      host: "0.0.0.0",
      port: 7431,
      batching: { maxMessages: 512, maxBytes: 2_048, maxDelayMs: 5 },
      compression: { algorithm: "brotli" },
      retry: { maxForwardAttempts: 7, backoffBaseMs: 100, backoffMaxMs: 5_000 },
      breaker: { failureThreshold: 3, openMs: 1_500 },
      policy: {
        allowedSourceDomains: ["team-b"],
        allowedSourceAgents: ["planner@team-b", "auditor"],
        allowedMessageTypes: ["review.*", "task.assign"],
        maxMessageBytes: 2 * 1024 * 1024,
        rateLimitPerPeer: { messagesPerSecond: 500, burst: 500 },
      },
    });
    expect(config.peers.map(({ domain: peer, endpoints }) => ({ peer, endpoints }))).toEqual(
      PEERS.map(({ name, endpoints }) => ({ peer: name, endpoints })),
    );
    // Tokens come from the Secrets through the projected files, the trailing newline dropped.
    expect(peers).toEqual([
      { domain: "team-b", token: "token-for-team-b" },
      { domain: "team-c", token: "token-for-team-c" },
    ]);
  });

  it("listens where the pod's probes, container port and Service point", () => {
    const children = buildGatewayChildren(gateway({ peers: PEERS, port: 7440 }), domain());
    const config = sidecarConfigSchema.parse(JSON.parse(children.configMap.data[GATEWAY_CONFIG_KEY] ?? ""));
    const container = children.deployment.spec.template.spec.containers[0];
    expect(config.gateway).toMatchObject({ host: "0.0.0.0", port: 7440 });
    expect(container?.ports).toEqual([{ name: "gateway", containerPort: 7440, protocol: "TCP" }]);
    expect(container?.readinessProbe).toMatchObject({ httpGet: { path: "/healthz", port: "gateway" } });
    // Liveness must not follow the store: a store outage would otherwise restart every gateway.
    expect(container?.livenessProbe).toMatchObject({ tcpSocket: { port: "gateway" } });
    expect(children.service.spec.ports).toEqual([
      { name: "gateway", port: 7440, targetPort: "gateway", protocol: "TCP" },
    ]);
    expect(children.deployment.spec.template.metadata?.annotations).toMatchObject({
      "prometheus.io/scrape": "true",
      "prometheus.io/port": "7440",
      "prometheus.io/path": "/metrics",
    });
    // The --config file is a key of the ConfigMap mounted at its directory.
    const file = container?.args?.[2] ?? "";
    expect(container?.volumeMounts).toContainEqual({
      name: "bmn-gateway-config",
      mountPath: dirname(file),
      readOnly: true,
    });
    expect(Object.keys(children.configMap.data)).toEqual([basename(file)]);
  });

  it("holds no secret value: the ConfigMap names token files, the store URL is a secretKeyRef", () => {
    const children = buildGatewayChildren(gateway({ peers: PEERS }), redisDomain());
    const text = JSON.stringify(children);
    for (const secret of ["redis://", "token-for-team-b", "token-for-team-c"])
      expect(text).not.toContain(secret);
    const config = JSON.parse(children.configMap.data[GATEWAY_CONFIG_KEY] ?? "") as {
      gateway: { peers: Record<string, unknown>[] };
    };
    for (const peer of config.gateway.peers) {
      expect(peer).not.toHaveProperty("token");
      expect(peer.tokenFile).toMatch(/^\/etc\/bmn-peer-tokens\/team-[bc]\/token$/);
    }
    expect(children.deployment.spec.template.spec.securityContext).toMatchObject({ fsGroup: 1_000 });
  });

  it("passes each link's trust (allowedOrigins, allowedRoutes) to the gateway, and leaves the default alone", () => {
    const [teamB, teamC] = PEERS;
    if (teamB === undefined || teamC === undefined) throw new Error("PEERS lists team-b and team-c");
    const hub = [{ ...teamB, allowedOrigins: ["team-b", "team-x"], allowedRoutes: ["*"] }, teamC];
    const { sidecar } = gatewayRunConfig(gatewayPod(gateway({ peers: hub }), redisDomain()));
    const peers = gatewayConfigSchema.parse(sidecar.gateway).peers;
    expect(peers[0]).toMatchObject({ allowedOrigins: ["team-b", "team-x"], allowedRoutes: ["*"] });
    expect(peers[1]).not.toHaveProperty("allowedOrigins");
    expect(peers[1]).not.toHaveProperty("allowedRoutes");
  });

  it("a gateway without peers mounts no token volume and still starts", () => {
    const children = buildGatewayChildren(gateway(), domain());
    expect(children.deployment.spec.template.spec.volumes?.map((volume) => volume.name)).toEqual([
      "bmn-gateway-config",
    ]);
    const { sidecar } = gatewayRunConfig(gatewayPod(gateway(), domain()));
    expect(gatewayConfigSchema.parse(sidecar.gateway).peers).toEqual([]);
    expect(sidecar.store.type).toBe("memory");
  });

  it("any Gateway and MessageDomain the CRDs accept render a config the gateway accepts", () => {
    const url = fc.constantFrom("http://gw.example:7430", "https://10.0.0.1/", "https://gw.example/bmn/");
    const peers = fc.uniqueArray(
      fc.record({
        name: fc.constantFrom("team-b", "team-c", "x", "x".repeat(63)),
        endpoints: fc.array(url, { minLength: 1, maxLength: 16 }),
        tokenSecretRef: fc.record({
          name: fc.constantFrom("s", "peer.tokens"),
          key: fc.constantFrom("t", "a.b_c-d"),
        }),
      }),
      { selector: (peer) => peer.name, maxLength: 4 },
    );
    const gatewaySpec = fc.record(
      {
        peers,
        batching: fc.record({
          maxMessages: fc.integer({ min: 1, max: 10_000 }),
          maxBytes: fc.integer({ min: 1_024, max: 64 * 1024 * 1024 }),
          maxDelayMs: fc.integer({ min: 0, max: 10_000 }),
        }),
        compression: fc.constantFrom("none", "gzip", "brotli"),
        retry: fc.record({
          maxAttempts: fc.integer({ min: 0, max: 1_000 }),
          backoff: fc
            .tuple(fc.integer({ min: 1, max: 3_600_000 }), fc.integer({ min: 1, max: 86_400_000 }))
            .filter(([base, max]) => base <= max)
            .map(([baseMs, maxMs]) => ({ baseMs, maxMs })),
        }),
        breaker: fc.record({
          failureThreshold: fc.integer({ min: 1, max: 1_000 }),
          openMs: fc.integer({ min: 100, max: 3_600_000 }),
        }),
        port: fc.integer({ min: 1, max: 65_535 }),
      },
      { requiredKeys: [] },
    );
    const domainSpec = fc.record(
      {
        store: fc.constantFrom<MessageDomainSpecInput["store"]>(
          { type: "memory" },
          { type: "redis", connection: { secretRef: { name: "r", key: "url" } }, redis: { keyPrefix: "p:" } },
          { type: "tidb", connection: { secretRef: { name: "t", key: "dsn" } } },
          { type: "sql", connection: { secretRef: { name: "t", key: "dsn" } } },
        ),
        routing: fc.record({ crossDomain: fc.boolean() }),
        policy: fc.record(
          {
            allowedSourceDomains: fc.array(fc.constantFrom("team-b", "z9")),
            allowedSourceAgents: fc.array(fc.constantFrom("planner", "planner@team-b", "a-1@b-2")),
            allowedMessageTypes: fc.array(fc.constantFrom("*", "orders.*", "x")),
            maxMessageBytes: fc.integer({ min: 1_024, max: 64 * 1024 * 1024 }),
            rateLimitPerPeer: fc.record(
              {
                messagesPerSecond: fc.integer({ min: 1, max: 1_000_000 }),
                burst: fc.integer({ min: 1, max: 1_000_000 }),
              },
              { requiredKeys: ["messagesPerSecond"] },
            ),
          },
          { requiredKeys: [] },
        ),
      },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(gatewaySpec, domainSpec, (gwSpec, mdSpec) => {
        const gw = gateway(gwSpec);
        const md = domain(mdSpec);
        const rendered = JSON.parse(
          buildGatewayChildren(gw, md).configMap.data[GATEWAY_CONFIG_KEY] ?? "",
        ) as unknown;
        expect(rendered).toEqual(JSON.parse(JSON.stringify(gatewaySidecarConfig(gw, md))));
        const parsed = sidecarConfigSchema.parse(rendered);
        const section = gatewayConfigSchema.parse(parsed.gateway);
        expect(section.peers.map((peer) => peer.domain)).toEqual(gw.spec.peers.map((peer) => peer.name));
        expect(parsed.routing.crossDomain).toBe(md.spec.routing.crossDomain);
      }),
      { numRuns: 200 },
    );
  });

  it("refuses a domain that is not the Gateway's, naming spec.domain", () => {
    expect(() => gatewaySidecarConfig(gateway(), domain({}, "team-z"))).toThrow(BuildError);
    expect(() => gatewaySidecarConfig(gateway(), domain({}, "team-z"))).toThrow(/spec\.domain/);
  });
});

describe("MessageDomain and AgentEndpoint → the config bmn start runs with", () => {
  function sidecarPod(md: MessageDomain, extra: Record<string, unknown> = {}): PodView {
    const { deployment } = buildAgentEndpointChildren(endpoint(extra), md);
    const { spec } = deployment.spec.template;
    const sidecar = spec.initContainers?.find((container) => container.name === "bmn-sidecar");
    if (sidecar === undefined) throw new Error("no sidecar");
    return podView(sidecar, spec.volumes ?? [], [buildDomainConfigMap(md)]);
  }

  it("loads the mounted bmn.yaml with the store URL and the loopback listener from env", () => {
    const view = sidecarPod(redisDomain({ routing: { crossDomain: true } }));
    expect(view.args).toEqual(SIDECAR_ARGS);
    expect(view.args).toEqual(["start"]);
    const config = loadConfig({}, view.env);
    expect(config).toMatchObject({
      domain: "team-a",
      host: "127.0.0.1",
      port: 7420,
      store: { type: "redis", redis: { url: "redis://:pw@redis-a:6379" } },
      routing: { crossDomain: true },
    });
  });

  it("renders the AgentEndpoint's a2a section into the sidecar's a2a.agents, and none without it", () => {
    const a2a = {
      description: "reviews code",
      inputModes: ["text/plain"],
      skills: [{ id: "review", name: "Code review", tags: ["code"] }],
    };
    expect(loadConfig({}, sidecarPod(redisDomain(), { a2a }).env).a2a.agents).toEqual({ reviewer: a2a });
    expect(loadConfig({}, sidecarPod(redisDomain()).env).a2a.agents).toEqual({});
  });

  it("routing.crossDomain follows the MessageDomain's spec.routing.crossDomain, off by default", () => {
    const off = parseYaml(buildDomainConfigMap(domain()).data[SIDECAR_CONFIG_KEY] ?? "") as unknown;
    expect(sidecarConfigSchema.parse(off).routing).toEqual({ crossDomain: false });
    const on = parseYaml(
      buildDomainConfigMap(domain({ routing: { crossDomain: true } })).data[SIDECAR_CONFIG_KEY] ?? "",
    ) as unknown;
    expect(sidecarConfigSchema.parse(on).routing).toEqual({ crossDomain: true });
  });

  it("lists the domain's gateways as routing.gateways, sorted and without repeats", () => {
    const urls = ["http://b-bmn-gateway.ns.svc:7430", "http://a-bmn-gateway.ns.svc:7430"];
    const rendered = parseYaml(
      buildDomainConfigMap(domain(), [...urls, urls[0] ?? ""]).data[SIDECAR_CONFIG_KEY] ?? "",
    ) as unknown;
    expect(sidecarConfigSchema.parse(rendered).routing.gateways).toEqual([...urls].sort());
    expect(gatewayServiceUrl(gateway({ peers: PEERS, port: 7440 }))).toBe(
      `http://${gatewayChildName(gateway({ peers: PEERS }))}.${NAMESPACE}.svc:7440`,
    );
  });
});

describe("gateway peer tokenFile", () => {
  const peer = { domain: "team-b", endpoints: ["http://b:7430"] };

  it("takes exactly one of token and tokenFile, naming the field", () => {
    expect(gatewayPeerConfigSchema.safeParse({ ...peer, token: "12345678" }).success).toBe(true);
    expect(gatewayPeerConfigSchema.safeParse({ ...peer, tokenFile: "/t" }).success).toBe(true);
    const neither = gatewayPeerConfigSchema.safeParse(peer);
    expect(neither.error?.issues.map((issue) => [issue.path.join("."), issue.message])).toEqual([
      ["token", "is required: give exactly one of token and tokenFile (a file holding the token)"],
    ]);
    const both = gatewayPeerConfigSchema.safeParse({ ...peer, token: "12345678", tokenFile: "/t" });
    expect(both.error?.issues.map((issue) => issue.path.join("."))).toEqual(["tokenFile"]);
    expect(() =>
      loadConfig({}, { BMN_CONFIG: writeTemp("c.json", JSON.stringify({ gateway: { peers: [peer] } })) }),
    ).toThrow("config key gateway.peers.0.token is required: give exactly one of token and tokenFile");
  });

  it("reads the file at start, drops one trailing newline, and refuses a bad token naming the key", () => {
    const parsed = gatewayConfigSchema.parse({
      peers: [
        { ...peer, tokenFile: writeTemp("b", "secret-token-b\r\n") },
        { domain: "team-c", endpoints: ["http://c:7430"], token: "inline-token" },
      ],
    });
    expect(resolvePeerTokens(parsed).peers).toEqual([
      { ...peer, token: "secret-token-b" },
      { domain: "team-c", endpoints: ["http://c:7430"], token: "inline-token" },
    ]);
    const short = gatewayConfigSchema.parse({ peers: [{ ...peer, tokenFile: writeTemp("s", "short\n") }] });
    expect(() => resolvePeerTokens(short)).toThrow(ConfigError);
    expect(() => resolvePeerTokens(short)).toThrow(
      /^config key gateway\.peers\.0\.tokenFile: the token in .* must be 8-4096 printable ASCII/,
    );
    const twoLines = gatewayConfigSchema.parse({
      peers: [{ ...peer, tokenFile: writeTemp("n", "secret-token\n\n") }],
    });
    expect(() => resolvePeerTokens(twoLines)).toThrow(/tokenFile/);
    const missing = gatewayConfigSchema.parse({ peers: [{ ...peer, tokenFile: "/nonexistent/bmn/token" }] });
    expect(() => resolvePeerTokens(missing)).toThrow(
      /^config key gateway\.peers\.0\.tokenFile: cannot read \/nonexistent\/bmn\/token: ENOENT/,
    );
  });
});

describe("BMN_ROUTING_CROSS_DOMAIN", () => {
  it.each([
    ["true", true],
    ["1", true],
    ["yes", true],
    ["false", false],
    ["0", false],
  ])("%s sets routing.crossDomain to %s, over the file", (value, expected) => {
    const file = writeTemp("r.json", JSON.stringify({ routing: { crossDomain: !expected } }));
    expect(loadConfig({}, { BMN_CONFIG: file, BMN_ROUTING_CROSS_DOMAIN: value }).routing.crossDomain).toBe(
      expected,
    );
  });

  it("flags win over env, and a bad value names the key", () => {
    expect(
      loadConfig({ routing: { crossDomain: true } }, { BMN_ROUTING_CROSS_DOMAIN: "false" }).routing
        .crossDomain,
    ).toBe(true);
    expect(() => loadConfig({}, { BMN_ROUTING_CROSS_DOMAIN: "maybe" })).toThrow(
      "config key routing.crossDomain must be true or false",
    );
  });
});

function writeTemp(name: string, content: string): string {
  const dir = mkdtempSync(join(tmpdir(), "bmn-cfg-"));
  dirs.push(dir);
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
}
