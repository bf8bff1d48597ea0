import { execFile } from "node:child_process";
import {
  accessSync,
  constants,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { connect, createServer, type Server, type Socket } from "node:net";
import { homedir, tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onProcessExit } from "./exit-hooks.js";
import {
  controlPlaneBinaries,
  DEFAULT_CONTROLLERS,
  pinnedKubernetesVersion,
  spawnComponent,
  startControlPlane,
  waitHealthy,
  type Component,
  type ControlPlane,
  type KubectlResult,
  type Launch,
} from "./kube-control-plane.js";
import { freePort } from "./free-port.js";
import { GroupChild } from "./process-group.js";
import { until } from "./poll-until.js";

const execFileAsync = promisify(execFile);
const HERE = dirname(fileURLToPath(import.meta.url));
const TOOLS_DIR = join(HERE, "..", "tools");

/** The node's address, on loopback inside its network namespace (the apiserver advertises it too). */
export const NODE_IP = "10.77.0.1";
/** Pods get addresses from this range on the node's bridge. */
export const POD_SUBNET = "10.88.0.0/16";
/**
 * Services get addresses from this range. A /20, so the apiserver keeps its first 256 addresses (10.96.0.x) for
 * fixed ClusterIPs, which the tests use, and allocates the others above them: with a /24 only 16 were kept apart,
 * and a Service without a fixed address could take one a test pins.
 */
export const SERVICE_RANGE = "10.96.0.0/20";
/** The `kubernetes` Service's address, which in-cluster clients (the operator) use. */
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const NODE_NAME = "bmn-node";
const CGROUP_ROOT = "/sys/fs/cgroup";

/** `ctr` arguments that give an image in the CRI's namespace a second reference. */
export function ctrTagArgs(source: string, target: string): string[] {
  return ["-n", "k8s.io", "images", "tag", "--force", source, target];
}

/** The node's programs: kubelet and kube-scheduler (test/tools/k8s/build.sh), containerd (test/tools/containerd). */
export interface NodeBinaries {
  readonly kubelet: string;
  readonly kubeScheduler: string;
  /** The directory with containerd, containerd-shim-runc-v2 and ctr. */
  readonly containerdDir: string;
  readonly runc: string;
  readonly cniPluginDir: string;
}

function containerdVersion(): string {
  const goMod = readFileSync(join(TOOLS_DIR, "containerd", "go.mod"), "utf8");
  const match = /github\.com\/containerd\/containerd\/v2\s+v(\S+)/.exec(goMod);
  if (!match?.[1]) throw new Error("test/tools/containerd/go.mod does not require containerd");
  return match[1];
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** What is missing for a node, as one line saying how to get it; undefined when everything is there. */
export function missingNodeParts(): string | undefined {
  const root = process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools");
  const k8s = join(root, `k8s-${pinnedKubernetesVersion()}`);
  const containerd = join(root, `containerd-${containerdVersion()}`);
  const missing: string[] = [];
  if (controlPlaneBinaries() === undefined) missing.push("the control plane (bash test/tools/k8s/build.sh)");
  for (const binary of ["kubelet", "kube-scheduler"]) {
    if (!executable(join(k8s, binary))) missing.push(`${binary} (bash test/tools/k8s/build.sh)`);
  }
  for (const binary of ["containerd", "containerd-shim-runc-v2", "ctr"]) {
    if (!executable(join(containerd, binary)))
      missing.push(`${binary} (bash test/tools/containerd/build.sh)`);
  }
  for (const [path, pkg] of [
    ["/usr/bin/runc", "runc"],
    ["/usr/lib/cni/bridge", "containernetworking-plugins"],
    ["/usr/bin/catatonit", "catatonit"],
    ["/usr/bin/unshare", "util-linux"],
  ] as const) {
    if (!executable(path)) missing.push(`${path} (apt-get install ${pkg})`);
  }
  if (process.getuid?.() !== 0) missing.push("root (a node needs namespaces, mounts and cgroups)");
  return missing.length === 0 ? undefined : `a test node needs ${missing.join(", ")}`;
}

export function nodeBinaries(): NodeBinaries {
  const missing = missingNodeParts();
  if (missing !== undefined) throw new Error(missing);
  const root = process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools");
  const k8s = join(root, `k8s-${pinnedKubernetesVersion()}`);
  return {
    kubelet: join(k8s, "kubelet"),
    kubeScheduler: join(k8s, "kube-scheduler"),
    containerdDir: join(root, `containerd-${containerdVersion()}`),
    runc: "/usr/bin/runc",
    cniPluginDir: "/usr/lib/cni",
  };
}

export interface KubeNode {
  readonly controlPlane: ControlPlane;
  readonly nodeName: string;
  /** The temp dir of the node (containerd's and kubelet's roots, CNI state, the namespaces' control socket). */
  readonly dir: string;
  kubectl(args: readonly string[], options?: { input?: string }): Promise<KubectlResult>;
  /** Loads an OCI image layout tar (test/tools/image) into the node's containerd. */
  importImage(tar: string): Promise<void>;
  /** Gives an imported image a second reference (e.g. a "new version" to roll out). */
  tagImage(source: string, target: string): Promise<void>;
  /** A loopback address of this process that leads to `host:port` inside the node's network (pod IPs too). */
  reach(host: string, port: number): Promise<{ host: string; port: number }>;
  /** The last output of the node's processes, for diagnosis. */
  logs(): Record<string, string>;
  /** Stops everything, removes the pods' processes and cgroups and the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface KubeNodeOptions {
  /** Image tars to import before kubelet starts (the pause image is always imported). */
  images?: readonly string[];
  /** The pause (sandbox) image tar and its reference. */
  pauseImage: { tar: string; reference: string };
  readyTimeoutMs?: number;
}

/** Controllers a node needs on top of the operator tests' ones. */
export const NODE_CONTROLLERS = [
  ...DEFAULT_CONTROLLERS,
  "node-lifecycle-controller",
  "serviceaccount-controller",
  "root-ca-certificate-publisher-controller",
  "endpoints-controller",
  "endpointslice-controller",
  "pod-garbage-collector-controller",
  "disruption-controller",
  "statefulset-controller",
  "job-controller",
  "taint-eviction-controller",
] as const;

/** Everything a crashed run must still remove: kill the pods' processes, then the cgroups, then the dir. */
interface NodeResidue {
  readonly dir: string;
  readonly cgroupName: string;
  /** The node's namespaces, read once the holder runs (it may be gone when the exit hook runs). */
  netns?: string;
  mntns?: string;
}
const residues = new Set<NodeResidue>();

onProcessExit(() => {
  // process-group.ts SIGKILLs the node's processes; the pods' processes and shims are not in those groups.
  for (const residue of residues) {
    killNodeProcesses(residue);
    removeCgroups(residue.cgroupName, 3_000);
    rmSync(residue.dir, { recursive: true, force: true, maxRetries: 3 });
  }
});

/** The v1 hierarchies (and the unified one) mounted under /sys/fs/cgroup. */
function cgroupHierarchies(): string[] {
  return readdirSync(CGROUP_ROOT)
    .map((name) => join(CGROUP_ROOT, name))
    .filter((path) => existsSync(join(path, "cgroup.procs")));
}

function createCgroups(name: string): void {
  for (const hierarchy of cgroupHierarchies()) {
    const path = join(hierarchy, name);
    mkdirSync(path, { recursive: true });
    // A new cpuset cgroup has no CPUs or memory nodes until given its parent's.
    for (const file of ["cpuset.cpus", "cpuset.mems"]) {
      if (existsSync(join(path, file)) && readFileSync(join(path, file), "utf8").trim() === "") {
        writeFileSync(join(path, file), readFileSync(join(hierarchy, file), "utf8"));
      }
    }
  }
}

/** Every cgroup directory below (and including) `path`, deepest first. */
function cgroupTree(path: string): string[] {
  if (!existsSync(path)) return [];
  const children = readdirSync(path, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) => cgroupTree(join(path, entry.name)));
  return [...children, path];
}

function cgroupPids(name: string): number[] {
  const pids = new Set<number>();
  for (const hierarchy of cgroupHierarchies()) {
    for (const dir of cgroupTree(join(hierarchy, name))) {
      try {
        for (const line of readFileSync(join(dir, "cgroup.procs"), "utf8").split("\n")) {
          if (line !== "") pids.add(Number(line));
        }
      } catch {
        // removed meanwhile
      }
    }
  }
  return [...pids];
}

/** The network and mount namespace ids of a process ("" when it is gone). */
function namespaceIds(pid: number | string): [string, string] {
  const read = (kind: string): string => {
    try {
      return readlinkSync(`/proc/${pid}/ns/${kind}`);
    } catch {
      return "";
    }
  };
  return [read("net"), read("mnt")];
}

/** Processes in the node's network namespace (containerd's shims among them) and in its pods' cgroups. */
function killNodeProcesses(residue: NodeResidue): void {
  const victims = new Set(cgroupPids(residue.cgroupName));
  const { netns, mntns } = residue;
  if (netns !== undefined && netns !== "" && mntns !== undefined && mntns !== "") {
    // The node's mount namespace holds containerd and its shims (a shim may sit in a pod's network namespace).
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      const [net, mnt] = namespaceIds(entry);
      if (net === netns || mnt === mntns) victims.add(Number(entry));
    }
  }
  victims.delete(process.pid);
  for (const pid of victims) {
    try {
      process.kill(pid, "SIGKILL");
    } catch {
      // exited meanwhile
    }
  }
}

const sleepSync = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
};

/** Removes the node's cgroups, deepest first, retrying while killed processes are still leaving them. */
function removeCgroups(name: string, timeoutMs: number): boolean {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    let left = 0;
    for (const hierarchy of cgroupHierarchies()) {
      for (const dir of cgroupTree(join(hierarchy, name))) {
        try {
          rmdirSync(dir);
        } catch {
          left++;
        }
      }
    }
    if (left === 0) return true;
    if (Date.now() > deadline) return false;
    for (const pid of cgroupPids(name)) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
    }
    sleepSync(100);
  }
}

/** A loopback listener of this process per target, each connection tunnelled through the holder's socket. */
class Tunnels {
  private readonly servers = new Map<string, Promise<{ server: Server; port: number }>>();
  constructor(private readonly controlSocket: string) {}

  reach(host: string, port: number): Promise<{ host: string; port: number }> {
    const key = `${host}:${port}`;
    let entry = this.servers.get(key);
    if (entry === undefined) {
      entry = this.listen(host, port);
      this.servers.set(key, entry);
    }
    return entry.then((value) => ({ host: "127.0.0.1", port: value.port }));
  }

  private async listen(host: string, port: number): Promise<{ server: Server; port: number }> {
    const server = createServer((socket) => {
      this.tunnel(socket, host, port);
    });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", resolve);
    });
    const address = server.address();
    if (address === null || typeof address === "string") throw new Error("tunnel listener has no port");
    return { server, port: address.port };
  }

  private tunnel(client: Socket, host: string, port: number): void {
    client.pause();
    const upstream = connect(this.controlSocket);
    const fail = (): void => {
      client.destroy();
      upstream.destroy();
    };
    upstream.once("error", fail);
    client.once("error", fail);
    upstream.once("connect", () => upstream.write(`${JSON.stringify({ connect: { host, port } })}\n`));
    let header = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      header = Buffer.concat([header, chunk]);
      const newline = header.indexOf(10);
      if (newline < 0) return;
      upstream.off("data", onData);
      if (header.subarray(0, newline).toString() !== "ok") {
        fail();
        return;
      }
      const rest = header.subarray(newline + 1);
      if (rest.length > 0) client.write(rest);
      client.pipe(upstream);
      upstream.pipe(client);
      client.once("close", () => upstream.destroy());
      upstream.once("close", () => client.destroy());
      client.resume();
    };
    upstream.on("data", onData);
  }

  async close(): Promise<void> {
    const entries = await Promise.allSettled(this.servers.values());
    for (const entry of entries) {
      if (entry.status === "fulfilled") entry.value.server.close();
    }
    this.servers.clear();
  }
}

function containerdConfig(dir: string, pauseReference: string, binaries: NodeBinaries): string {
  return `version = 3
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"

[grpc]
  address = "${dir}/containerd/containerd.sock"

[ttrpc]
  address = "${dir}/containerd/containerd.sock.ttrpc"

[debug]
  level = "warn"

[plugins.'io.containerd.cri.v1.images']
  snapshotter = "overlayfs"
  [plugins.'io.containerd.cri.v1.images'.pinned_images]
    sandbox = "${pauseReference}"

[plugins.'io.containerd.cri.v1.runtime']
  # This machine withholds CAP_SYS_RESOURCE: runc cannot lower oom_score_adj below its own.
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  [plugins.'io.containerd.cri.v1.runtime'.cni]
    bin_dirs = ["${binaries.cniPluginDir}"]
    conf_dir = "${dir}/cni/net.d"
  [plugins.'io.containerd.cri.v1.runtime'.containerd]
    default_runtime_name = "runc"
    [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins.'io.containerd.cri.v1.runtime'.containerd.runtimes.runc.options]
        BinaryName = "${binaries.runc}"
        SystemdCgroup = false
`;
}

function cniConfig(dir: string): string {
  return JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "bmn",
      plugins: [
        {
          type: "bridge",
          bridge: "bmn0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: POD_SUBNET }]],
            routes: [{ dst: "0.0.0.0/0" }],
            dataDir: join(dir, "cni", "ipam"),
          },
        },
      ],
    },
    null,
    2,
  );
}

function kubeletConfig(dir: string, cgroupName: string, caCert: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# This machine's kernel has cgroup v1 only.
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /${cgroupName}
containerRuntimeEndpoint: unix://${dir}/containerd/containerd.sock
address: ${NODE_IP}
port: 10250
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
authentication:
  anonymous: { enabled: false }
  webhook: { enabled: true }
  x509: { clientCAFile: ${caCert} }
authorization:
  mode: Webhook
resolvConf: ${dir}/resolv.conf
podLogsDir: ${dir}/pod-logs
failSwapOn: false
protectKernelDefaults: false
serializeImagePulls: false
# Images are imported, never pulled: garbage collecting one would lose it.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard:
  memory.available: "1Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
syncFrequency: 10s
fileCheckFrequency: 10s
nodeStatusUpdateFrequency: 2s
maxPods: 60
`;
}

/**
 * Starts a control plane and one node (containerd, runc, the CNI bridge, kubelet, kube-scheduler), all inside one
 * private mount and network namespace (see node-namespace-holder.ts): nothing listens on the host's network, no
 * host sysctl changes, and the pods' cgroups live under a cgroup of this node's own that stop() removes. Pods reach
 * the apiserver at https://10.96.0.1 (the `kubernetes` Service) and each other by pod IP and ClusterIP; this
 * process reaches them through `reach()` and kubectl. Throws when a part is missing (missingNodeParts()).
 */
export async function startKubeNode(options: KubeNodeOptions): Promise<KubeNode> {
  const binaries = nodeBinaries();
  const timeoutMs = options.readyTimeoutMs ?? 180_000;
  const dir = await mkdtemp(join(tmpdir(), "bmn-node-"));
  const residue: NodeResidue = { dir, cgroupName: basename(dir) };
  residues.add(residue);
  const components: Component[] = [];
  let holder: GroupChild | undefined;
  let controlPlane: ControlPlane | undefined;
  const tunnels = new Tunnels(join(dir, "holder.sock"));

  const stopAll = async (): Promise<void> => {
    // kubelet first, so that nothing restarts the pods while they are killed.
    for (const component of [...components].reverse()) {
      if (component.name === "containerd") killNodeProcesses({ ...residue });
      await component.stop();
    }
    killNodeProcesses(residue);
    await controlPlane?.stop();
    await holder?.stop();
    await tunnels.close();
    const removed = removeCgroups(residue.cgroupName, 10_000);
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    residues.delete(residue);
    if (!removed)
      throw new Error(`cgroups /${residue.cgroupName} could not be removed: processes still in them`);
  };

  try {
    for (const sub of ["containerd", "cni/net.d", "cni/ipam", "kubelet", "pod-logs"]) {
      mkdirSync(join(dir, sub), { recursive: true });
    }
    writeFileSync(join(dir, "resolv.conf"), "nameserver 127.0.0.1\noptions ndots:1\n");
    writeFileSync(join(dir, "cni", "net.d", "10-bmn.conflist"), cniConfig(dir));
    createCgroups(residue.cgroupName);

    holder = GroupChild.spawn({
      label: "node namespaces",
      command: "unshare",
      args: [
        "--mount",
        "--net",
        "--propagation",
        "private",
        "--",
        process.execPath,
        join(HERE, "node-namespace-holder.ts"),
        dir,
        NODE_IP,
        KUBERNETES_SERVICE_IP,
      ],
      stopTimeoutMs: 2_000,
    });
    const holderChild = holder;
    await until(
      () => existsSync(join(dir, "holder.ready")) || holderChild.status !== undefined,
      30_000,
      "the node's namespaces",
    );
    if (holder.status !== undefined) {
      throw new Error(`the node's namespace holder exited (${holder.describeExit()}): ${holder.output()}`);
    }
    const holderPid = holder.pid;
    if (holderPid === undefined) throw new Error("the node's namespace holder has no pid");
    [residue.netns, residue.mntns] = namespaceIds(holderPid);
    const launch: Launch = (binary, args) => ({
      command: "nsenter",
      args: [`--target=${holderPid}`, "--mount", "--net", "--", binary, ...args],
    });
    const reach = (host: string, port: number): Promise<{ host: string; port: number }> =>
      tunnels.reach(host, port);

    controlPlane = await startControlPlane({
      launch,
      reach,
      readyTimeoutMs: timeoutMs,
      controllers: NODE_CONTROLLERS,
      // HPAs look every 5 s instead of 15 s, so the autoscaling tests see a timeline in seconds.
      controllerManagerArgs: ["--horizontal-pod-autoscaler-sync-period=5s"],
      apiserver: {
        bindAddress: "0.0.0.0",
        advertiseAddress: NODE_IP,
        serviceClusterIpRange: SERVICE_RANGE,
        servingSans: [
          `IP:${KUBERNETES_SERVICE_IP}`,
          `IP:${NODE_IP}`,
          "DNS:kubernetes",
          "DNS:kubernetes.default",
          "DNS:kubernetes.default.svc",
          "DNS:kubernetes.default.svc.cluster.local",
        ],
        extraArgs: (pki) => [
          // Pods get ServiceAccount tokens (the operator's pod needs one).
          "--disable-admission-plugins=",
          "--kubelet-preferred-address-types=InternalIP",
          `--kubelet-client-certificate=${pki.adminCert}`,
          `--kubelet-client-key=${pki.adminKey}`,
          // Aggregated APIs (the operator's external metrics) are reached at their pods' IPs: no kube-proxy.
          "--enable-aggregator-routing=true",
          `--proxy-client-cert-file=${pki.adminCert}`,
          `--proxy-client-key-file=${pki.adminKey}`,
          `--requestheader-client-ca-file=${pki.caCert}`,
          "--requestheader-allowed-names=bmn-admin",
          "--requestheader-username-headers=X-Remote-User",
          "--requestheader-group-headers=X-Remote-Group",
          "--requestheader-extra-headers-prefix=X-Remote-Extra-",
        ],
      },
    });
    const plane = controlPlane;
    const innerServer = /server: (\S+)/.exec(await readFile(plane.innerKubeconfigPath, "utf8"))?.[1] ?? "";

    // The Service proxy (kube-proxy's stand-in) in the holder, which also serves 10.96.0.1:443.
    await controlSocketCommand(join(dir, "holder.sock"), {
      proxy: {
        server: innerServer,
        ca: plane.pki.caCert,
        cert: plane.pki.adminCert,
        key: plane.pki.adminKey,
      },
    });

    const schedulerPort = await freePort();
    const scheduler = spawnComponent(
      "kube-scheduler",
      binaries.kubeScheduler,
      [
        `--kubeconfig=${plane.innerKubeconfigPath}`,
        `--authentication-kubeconfig=${plane.innerKubeconfigPath}`,
        `--authorization-kubeconfig=${plane.innerKubeconfigPath}`,
        "--leader-elect=false",
        "--bind-address=127.0.0.1",
        `--secure-port=${schedulerPort}`,
      ],
      launch,
    );
    components.push(scheduler);
    await waitHealthy(
      scheduler,
      {
        url: `https://127.0.0.1:${(await reach("127.0.0.1", schedulerPort)).port}/healthz`,
        tls: { insecure: true },
        ok: (status) => status === 200,
      },
      timeoutMs,
    );

    const containerdConfigPath = join(dir, "containerd", "config.toml");
    writeFileSync(containerdConfigPath, containerdConfig(dir, options.pauseImage.reference, binaries));
    const nodePath = `${binaries.containerdDir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`;
    const containerd = spawnComponent(
      "containerd",
      "/usr/bin/env",
      [`PATH=${nodePath}`, join(binaries.containerdDir, "containerd"), "--config", containerdConfigPath],
      launch,
    );
    components.push(containerd);
    const ctr = join(binaries.containerdDir, "ctr");
    const socket = join(dir, "containerd", "containerd.sock");
    await until(
      async () => {
        if (containerd.describeExit() !== "running") {
          throw new Error(`containerd exited: ${containerd.describeExit()}\n${containerd.output()}`);
        }
        await execFileAsync(ctr, ["--address", socket, "version"]);
        return true;
      },
      timeoutMs,
      "containerd",
      () => containerd.output().slice(-2_000),
      200,
    );
    const importImage = async (tar: string): Promise<void> => {
      await execFileAsync(ctr, ["--address", socket, "-n", "k8s.io", "images", "import", "--local", tar], {
        maxBuffer: 4 * 1024 * 1024,
      });
    };
    for (const tar of [options.pauseImage.tar, ...(options.images ?? [])]) await importImage(tar);

    const kubeletConfigPath = join(dir, "kubelet", "config.yaml");
    writeFileSync(kubeletConfigPath, kubeletConfig(dir, residue.cgroupName, plane.pki.caCert));
    const kubelet = spawnComponent(
      "kubelet",
      "/usr/bin/env",
      [
        `PATH=${nodePath}`,
        binaries.kubelet,
        `--config=${kubeletConfigPath}`,
        `--kubeconfig=${plane.innerKubeconfigPath}`,
        `--root-dir=${join(dir, "kubelet")}`,
        `--cert-dir=${join(dir, "kubelet", "pki")}`,
        `--hostname-override=${NODE_NAME}`,
        `--node-ip=${NODE_IP}`,
      ],
      launch,
    );
    components.push(kubelet);
    await until(
      async () => {
        if (kubelet.describeExit() !== "running") {
          throw new Error(`kubelet exited: ${kubelet.describeExit()}\n${kubelet.output().slice(-4_000)}`);
        }
        const result = await plane.kubectl(["get", "node", NODE_NAME, "-o", "json"]);
        if (result.code !== 0) return false;
        const node = JSON.parse(result.stdout) as {
          spec?: { taints?: unknown[] };
          status?: { conditions?: { type: string; status: string }[] };
        };
        const ready =
          node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;
        // The node-lifecycle controller removes the not-ready taint; until then nothing is scheduled.
        return ready && (node.spec?.taints ?? []).length === 0;
      },
      timeoutMs,
      `node ${NODE_NAME} Ready and untainted`,
      () => kubelet.output().slice(-3_000),
      250,
    );

    let stopped: Promise<void> | undefined;
    return {
      controlPlane: plane,
      nodeName: NODE_NAME,
      dir,
      kubectl: (args, kubectlOptions) => plane.kubectl(args, kubectlOptions),
      importImage,
      async tagImage(source, target) {
        await execFileAsync(ctr, ["--address", socket, ...ctrTagArgs(source, target)]);
      },
      reach,
      logs: () => ({
        ...plane.logs(),
        ...Object.fromEntries(components.map((component) => [component.name, component.output()])),
      }),
      stop() {
        stopped ??= stopAll();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll().catch(() => undefined);
    throw error;
  }
}

function controlSocketCommand(socketPath: string, command: unknown): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(socketPath);
    let answer = "";
    socket.setEncoding("utf8");
    socket.once("connect", () => socket.write(`${JSON.stringify(command)}\n`));
    socket.on("data", (chunk: string) => (answer += chunk));
    socket.once("error", reject);
    socket.once("close", () => {
      if (answer.trim() === "ok") resolve();
      else reject(new Error(`node namespace holder answered: ${answer.trim()}`));
    });
  });
}
