/**
 * The first process of a test node's namespaces: `unshare -m -n --propagation private -- node THIS DIR NODE_IP
 * SERVICE_IP`. Run as a script (Node strips its types), so it imports nothing but node: builtins.
 *
 * It makes the private mount and network namespace fit for kubelet and containerd, then serves a control socket
 * at DIR/holder.sock until it is killed; when it and every other process inside have ended, the kernel drops the
 * namespaces with every mount, address and interface made in them.
 *
 * Setup: loopback up with the node IP and the `kubernetes` Service IP on it (pods reach the apiserver through
 * that address, with no kube-proxy); tmpfs over /run, /var/lib and /var/log (containerd, runc, CNI and kubelet
 * write fixed paths there); scratch copies bind-mounted over the /proc/sys files kubelet writes, so the host's
 * sysctls never change.
 *
 * The control socket takes one JSON line per connection:
 *   {"connect": {"host", "port"}}  then pipes the connection to that TCP address inside the namespace;
 *   {"proxy": {"server", "ca", "cert", "key"}}  starts the Service proxy below and answers "ok".
 *
 * The Service proxy stands in for kube-proxy (whose iptables mode would need host kernel modules): every
 * ClusterIP Service port gets its IP on loopback and a TCP listener that forwards each connection to a ready
 * endpoint of the Service's EndpointSlices, synced from the apiserver every PROXY_SYNC_MS.
 */
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { request } from "node:https";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { createInterface } from "node:readline";

const PROXY_SYNC_MS = 500;
const KUBELET_SYSCTLS = [
  "kernel/panic",
  "kernel/panic_on_oops",
  "kernel/keys/root_maxkeys",
  "kernel/keys/root_maxbytes",
  "vm/overcommit_memory",
  "vm/panic_on_oom",
];

const [dir, nodeIp, serviceIp] = process.argv.slice(2);
if (dir === undefined || nodeIp === undefined || serviceIp === undefined) {
  process.stderr.write("usage: node-namespace-holder.ts DIR NODE_IP SERVICE_IP\n");
  process.exit(2);
}

function run(command: string, args: string[]): void {
  execFileSync(command, args, { stdio: ["ignore", "ignore", "inherit"] });
}

run("ip", ["link", "set", "lo", "up"]);
run("ip", ["addr", "add", `${nodeIp}/32`, "dev", "lo"]);
run("ip", ["addr", "add", `${serviceIp}/32`, "dev", "lo"]);
for (const path of ["/run", "/var/lib", "/var/log"]) {
  run("mount", ["-t", "tmpfs", "-o", "size=64m,mode=755", "tmpfs", path]);
}
const sysctlDir = join(dir, "sysctl");
mkdirSync(sysctlDir, { recursive: true });
for (const key of KUBELET_SYSCTLS) {
  const source = `/proc/sys/${key}`;
  if (!existsSync(source)) continue;
  const copy = join(sysctlDir, key.replaceAll("/", "."));
  // readFileSync, not copyFileSync: /proc files report size 0, and a copy by size would be empty.
  writeFileSync(copy, readFileSync(source));
  run("mount", ["--bind", copy, source]);
}

interface ProxyTarget {
  server: string;
  ca: string;
  cert: string;
  key: string;
}

interface Endpoint {
  ip: string;
  port: number;
}

/** One listener per ClusterIP:port, forwarding round-robin to the current endpoints. */
class ServiceProxy {
  private readonly listeners = new Map<string, { server: Server; endpoints: Endpoint[]; next: number }>();
  private readonly addresses = new Set<string>([serviceIp ?? ""]);
  private readonly tls: { ca: Buffer; cert: Buffer; key: Buffer };
  private readonly url: URL;

  constructor(target: ProxyTarget) {
    this.url = new URL(target.server);
    this.tls = {
      ca: readFileSync(target.ca),
      cert: readFileSync(target.cert),
      key: readFileSync(target.key),
    };
  }

  start(): void {
    const tick = (): void => {
      this.sync().then(
        () => setTimeout(tick, PROXY_SYNC_MS),
        (error: unknown) => {
          process.stderr.write(`service proxy: ${(error as Error).message}\n`);
          setTimeout(tick, PROXY_SYNC_MS);
        },
      );
    };
    tick();
  }

  private get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const req = request(
        { host: this.url.hostname, port: this.url.port, path, ...this.tls, timeout: 5_000 },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => (body += chunk));
          res.on("end", () => {
            if (res.statusCode !== 200) reject(new Error(`GET ${path}: HTTP ${res.statusCode}`));
            else resolve(JSON.parse(body));
          });
        },
      );
      req.on("timeout", () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on("error", reject);
      req.end();
    });
  }

  private async sync(): Promise<void> {
    const services = (await this.get("/api/v1/services")) as { items: KubeService[] };
    const slices = (await this.get("/apis/discovery.k8s.io/v1/endpointslices")) as { items: KubeSlice[] };
    const wanted = new Map<string, Endpoint[]>();
    for (const service of services.items) {
      const ip = service.spec.clusterIP;
      if (ip === undefined || ip === "" || ip === "None") continue;
      const ns = service.metadata.namespace;
      const own = slices.items.filter(
        (slice) =>
          slice.metadata.namespace === ns &&
          slice.metadata.labels?.["kubernetes.io/service-name"] === service.metadata.name,
      );
      for (const port of service.spec.ports ?? []) {
        if ((port.protocol ?? "TCP") !== "TCP") continue;
        const endpoints: Endpoint[] = [];
        for (const slice of own) {
          const slicePort = (slice.ports ?? []).find((p) => (p.name ?? "") === (port.name ?? ""));
          if (slicePort?.port === undefined) continue;
          for (const endpoint of slice.endpoints ?? []) {
            if (endpoint.conditions?.ready === false) continue;
            for (const address of endpoint.addresses) endpoints.push({ ip: address, port: slicePort.port });
          }
        }
        wanted.set(`${ip}:${port.port}`, endpoints);
      }
    }
    for (const [key, entry] of this.listeners) {
      const endpoints = wanted.get(key);
      if (endpoints === undefined) {
        entry.server.close();
        this.listeners.delete(key);
      } else {
        entry.endpoints = endpoints;
      }
    }
    for (const [key, endpoints] of wanted) {
      if (this.listeners.has(key)) continue;
      const [ip = "", port = ""] = key.split(":");
      if (!this.addresses.has(ip)) {
        run("ip", ["addr", "add", `${ip}/32`, "dev", "lo"]);
        this.addresses.add(ip);
      }
      const entry = { server: createServer(), endpoints, next: 0 };
      entry.server.on("connection", (socket: Socket) => {
        const endpoint = entry.endpoints[entry.next++ % Math.max(entry.endpoints.length, 1)];
        if (endpoint === undefined) {
          socket.destroy();
          return;
        }
        pipe(socket, connect(endpoint.port, endpoint.ip));
      });
      entry.server.on("error", (error) => process.stderr.write(`service proxy ${key}: ${error.message}\n`));
      entry.server.listen(Number(port), ip);
      this.listeners.set(key, entry);
    }
  }
}

interface KubeService {
  metadata: { name: string; namespace: string };
  spec: { clusterIP?: string; ports?: { name?: string; port: number; protocol?: string }[] };
}

interface KubeSlice {
  metadata: { namespace: string; labels?: Record<string, string> };
  ports?: { name?: string; port?: number }[];
  endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[];
}

function pipe(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  const end = (): void => {
    a.destroy();
    b.destroy();
  };
  a.on("error", end);
  b.on("error", end);
  a.on("close", end);
  b.on("close", end);
}

let proxy: ServiceProxy | undefined;
const control = createServer((socket) => {
  socket.pause();
  const lines = createInterface({ input: socket });
  lines.once("line", (line) => {
    lines.close();
    let command: { connect?: Endpoint & { host: string }; proxy?: ProxyTarget };
    try {
      command = JSON.parse(line) as typeof command;
    } catch {
      socket.end("error the command is not JSON\n");
      return;
    }
    if (command.connect !== undefined) {
      const upstream = connect(command.connect.port, command.connect.host);
      upstream.once("connect", () => {
        socket.write("ok\n");
        pipe(socket, upstream);
        socket.resume();
      });
      upstream.once("error", (error) => {
        socket.end(`error ${error.message}\n`);
      });
    } else if (command.proxy !== undefined) {
      proxy ??= new ServiceProxy(command.proxy);
      proxy.start();
      socket.end("ok\n");
    } else {
      socket.end("error unknown command\n");
    }
  });
  socket.resume();
});
control.listen(join(dir, "holder.sock"), () => {
  writeFileSync(join(dir, "holder.ready"), String(process.pid));
  process.stdout.write("ready\n");
});
