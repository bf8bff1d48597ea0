import { spawn } from "node:child_process";
import { accessSync, constants, readFileSync, rmSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";
import { homedir, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { onProcessExit } from "./exit-hooks.js";
import { GroupChild } from "./process-group.js";
import { freePort } from "./free-port.js";
import { createKubePki, type KubePki } from "./kube-pki.js";

const HOST = "127.0.0.1";
const STOP_TIMEOUT_MS = 10_000;
// freePort() is racy (another test worker may take the port first), so a lost race gets fresh ports.
const MAX_PORT_ATTEMPTS = 3;
const POLL_INTERVAL_MS = 200;

const TOOLS_DIR = join(dirname(fileURLToPath(import.meta.url)), "..", "tools");

/** The cached control-plane binaries that test/tools/k8s/build.sh builds. */
export interface ControlPlaneBinaries {
  /** The pinned Kubernetes release, e.g. "1.36.3" (from test/tools/k8s/go.mod). */
  readonly version: string;
  /** `${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/k8s-<version>` */
  readonly dir: string;
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubectl: string;
  readonly helm: string;
}

/** The Kubernetes version test/tools/k8s/go.mod pins (without the leading "v"). */
export function pinnedKubernetesVersion(): string {
  const goMod = readFileSync(join(TOOLS_DIR, "k8s", "go.mod"), "utf8");
  const match = /^\s*k8s\.io\/kubernetes\s+v(\S+)/m.exec(goMod);
  if (!match?.[1]) throw new Error("test/tools/k8s/go.mod does not require k8s.io/kubernetes");
  return match[1];
}

/** Finds the cached binaries for the pinned release; undefined until `bash test/tools/k8s/build.sh` has run. */
export function controlPlaneBinaries(): ControlPlaneBinaries | undefined {
  const version = pinnedKubernetesVersion();
  const root = process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools");
  const dir = join(root, `k8s-${version}`);
  const binaries: ControlPlaneBinaries = {
    version,
    dir,
    etcd: join(dir, "etcd"),
    kubeApiserver: join(dir, "kube-apiserver"),
    kubeControllerManager: join(dir, "kube-controller-manager"),
    kubectl: join(dir, "kubectl"),
    helm: join(dir, "helm"),
  };
  for (const file of [
    binaries.etcd,
    binaries.kubeApiserver,
    binaries.kubeControllerManager,
    binaries.kubectl,
    binaries.helm,
  ]) {
    try {
      accessSync(file, constants.X_OK);
    } catch {
      return undefined;
    }
  }
  return binaries;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ControlPlane {
  /** For clients in this process's network (through `reach` when the components run in a namespace). */
  readonly kubeconfigPath: string;
  /** https://127.0.0.1:<port>, as `kubeconfigPath` names it */
  readonly server: string;
  /** For components beside the apiserver (the same as `kubeconfigPath` unless they run in a namespace). */
  readonly innerKubeconfigPath: string;
  readonly binaries: ControlPlaneBinaries;
  /** The temp dir holding PKI, etcd data, kubeconfig and kubectl's cache (removed by stop()). */
  readonly dir: string;
  readonly pki: KubePki;
  /** Runs the built kubectl against this control plane; never throws for a non-zero exit code. */
  kubectl(args: readonly string[], options?: { input?: string }): Promise<KubectlResult>;
  /** The last output of each component, for diagnosis. */
  logs(): { etcd: string; apiserver: string; controllerManager: string };
  /** Stops controller-manager, apiserver and etcd (SIGTERM, then SIGKILL) and removes the temp dir; idempotent. */
  stop(): Promise<void>;
}

export interface ControlPlaneOptions {
  binaries?: ControlPlaneBinaries;
  /** Deadline for each component to become healthy. Default 120 s (a loaded 2-core machine is slow). */
  readyTimeoutMs?: number;
  /** kube-controller-manager --controllers. Default: the ones the operator's tests rely on. */
  controllers?: readonly string[];
  /** Runs each component through another program (a node's namespaces: nsenter). Default: directly. */
  launch?: (binary: string, args: readonly string[]) => { command: string; args: readonly string[] };
  /** Maps an address the components listen on to one this process can connect to. Default: the same. */
  reach?: (host: string, port: number) => Promise<{ host: string; port: number }>;
  /** kube-apiserver settings a node needs (kube-node.ts): listen address, SANs, extra flags. */
  apiserver?: {
    bindAddress?: string;
    advertiseAddress?: string;
    serviceClusterIpRange?: string;
    servingSans?: readonly string[];
    /** Extra flags (replacing defaults of the same name), given the PKI the control plane made. */
    extraArgs?: (pki: KubePki) => readonly string[];
  };
  /** Extra kube-controller-manager flags. */
  controllerManagerArgs?: readonly string[];
}

/** Controllers run by default: garbage collection, Deployments -> ReplicaSets -> Pods, HPA, namespace deletion. */
export const DEFAULT_CONTROLLERS = [
  "garbagecollector",
  "deployment",
  "replicaset",
  "horizontalpodautoscaling",
  "namespace",
  // Fills the default view/edit/admin ClusterRoles from aggregated ones (the chart ships some).
  "clusterrole-aggregation",
] as const;

export class ControlPlaneStartError extends Error {
  constructor(
    message: string,
    readonly output: string,
  ) {
    super(`${message}\n--- output ---\n${output}`);
    this.name = "ControlPlaneStartError";
  }
}

/** Temp dirs not yet removed by stop(). */
const tempDirs = new Set<string>();

// A crashed or aborted test run must leave no temp dirs behind (process-group.ts SIGKILLs the processes).
onProcessExit(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
});

/** A control-plane process (also used by kube-node.ts for the scheduler, containerd and kubelet). */
export interface Component {
  readonly name: string;
  readonly exited: Promise<unknown>;
  output(): string;
  describeExit(): string;
  stop(): Promise<void>;
}

/** `defaults` without the flags `extra` sets, then `extra` (a repeated list flag would append, not replace). */
function withFlags(defaults: readonly string[], extra: readonly string[]): string[] {
  const names = new Set(extra.map((flag) => flag.split("=")[0]));
  return [...defaults.filter((flag) => !names.has(flag.split("=")[0])), ...extra];
}

export type Launch = NonNullable<ControlPlaneOptions["launch"]>;
const direct: Launch = (binary, args) => ({ command: binary, args });

export function spawnComponent(
  name: string,
  binary: string,
  args: readonly string[],
  launch: Launch = direct,
): Component {
  const launched = launch(binary, args);
  const child = GroupChild.spawn({
    label: name,
    command: launched.command,
    args: launched.args,
    // No KUBECONFIG or proxy settings from the developer's shell may leak into the components.
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir() },
    stopTimeoutMs: STOP_TIMEOUT_MS,
  });
  return {
    name,
    exited: child.exited,
    output: () => child.output(),
    describeExit: () => child.describeExit(),
    stop: () => child.stop(),
  };
}

export interface Probe {
  url: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer; insecure?: boolean };
  /** True when the response means healthy. */
  ok(status: number, body: string): boolean;
}

function probeOnce(probe: Probe): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(probe.url);
    const options = {
      method: "GET",
      timeout: 5_000,
      ...(probe.tls
        ? {
            ca: probe.tls.ca,
            cert: probe.tls.cert,
            key: probe.tls.key,
            rejectUnauthorized: probe.tls.insecure !== true,
          }
        : {}),
    };
    const req = (url.protocol === "https:" ? httpsRequest : httpRequest)(url, options, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => {
        body += chunk;
      });
      res.on("end", () => {
        resolve({ status: res.statusCode ?? 0, body });
      });
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error("probe timed out")));
    req.on("error", reject);
    req.end();
  });
}

/** Polls the probe until it is healthy, the component exits, or the deadline passes. */
export async function waitHealthy(component: Component, probe: Probe, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  const state = { exited: false };
  void component.exited.then(() => {
    state.exited = true;
  });
  let last = "no answer yet";
  for (;;) {
    if (state.exited) {
      throw new ControlPlaneStartError(
        `${component.name} exited before it was healthy (${component.describeExit()})`,
        component.output(),
      );
    }
    try {
      const { status, body } = await probeOnce(probe);
      if (probe.ok(status, body)) return;
      last = `HTTP ${status}: ${body.slice(0, 2_000)}`;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() >= deadline) {
      await component.stop();
      throw new ControlPlaneStartError(
        `${component.name} was not healthy at ${probe.url} within ${timeoutMs} ms (last: ${last})`,
        component.output(),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

/** Starts a component on fresh ports until it does not lose a port race (or fails for another reason). */
async function startWithPorts<T>(attempt: () => Promise<T>): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (error) {
      const lostRace =
        error instanceof ControlPlaneStartError && /address already in use/i.test(error.output);
      if (!lostRace || i >= MAX_PORT_ATTEMPTS) throw error;
    }
  }
}

function kubeconfig(server: string, pki: { ca: Buffer; cert: Buffer; key: Buffer }): string {
  const b64 = (data: Buffer): string => data.toString("base64");
  return `apiVersion: v1
kind: Config
clusters:
  - name: bmn-test
    cluster:
      server: ${server}
      certificate-authority-data: ${b64(pki.ca)}
users:
  - name: bmn-admin
    user:
      client-certificate-data: ${b64(pki.cert)}
      client-key-data: ${b64(pki.key)}
contexts:
  - name: bmn-test
    context:
      cluster: bmn-test
      user: bmn-admin
current-context: bmn-test
`;
}

/**
 * Starts a private control plane from the cached binaries, following controller-runtime's envtest recipe:
 * etcd (own data dir, loopback ports), kube-apiserver (RBAC, client-cert admin in system:masters, service-account
 * keys, secure port on a free loopback port), kube-controller-manager. Resolves once each is healthy (the
 * apiserver's /readyz answers "ok"). Throws when the binaries are not built (`bash test/tools/k8s/build.sh`).
 */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  const binaries = options.binaries ?? controlPlaneBinaries();
  if (!binaries) {
    throw new Error(
      `control-plane binaries for Kubernetes ${pinnedKubernetesVersion()} are not built: run bash test/tools/k8s/build.sh`,
    );
  }
  const timeoutMs = options.readyTimeoutMs ?? 120_000;
  const controllers = options.controllers ?? DEFAULT_CONTROLLERS;
  const launch = options.launch ?? direct;
  const reach = options.reach ?? ((host: string, port: number) => Promise.resolve({ host, port }));
  const reachUrl = async (scheme: string, host: string, port: number, path: string): Promise<string> => {
    const reached = await reach(host, port);
    return `${scheme}://${reached.host}:${reached.port}${path}`;
  };
  const apiserverOptions = options.apiserver ?? {};

  const dir = await mkdtemp(join(tmpdir(), "bmn-kube-"));
  tempDirs.add(dir);
  const components: Component[] = [];
  const stopAll = async (): Promise<void> => {
    // Reverse start order: controller-manager, apiserver, then etcd.
    for (const component of [...components].reverse()) await component.stop();
  };

  try {
    const pkiDir = join(dir, "pki");
    await mkdir(pkiDir);
    const pki = await createKubePki(pkiDir, apiserverOptions.servingSans);
    const [ca, cert, key] = await Promise.all([
      readFile(pki.caCert),
      readFile(pki.adminCert),
      readFile(pki.adminKey),
    ]);

    const etcd = await startWithPorts(async () => {
      const [clientPort, peerPort] = [await freePort(), await freePort()];
      const dataDir = join(dir, `etcd-${clientPort}`);
      const clientUrl = `http://${HOST}:${clientPort}`;
      const peerUrl = `http://${HOST}:${peerPort}`;
      const component = spawnComponent(
        "etcd",
        binaries.etcd,
        [
          "--name=default",
          `--data-dir=${dataDir}`,
          `--listen-client-urls=${clientUrl}`,
          `--advertise-client-urls=${clientUrl}`,
          `--listen-peer-urls=${peerUrl}`,
          `--initial-advertise-peer-urls=${peerUrl}`,
          `--initial-cluster=default=${peerUrl}`,
          // Throwaway data: no fsync keeps a shared 2-core machine's disk out of the tests' timings.
          "--unsafe-no-fsync",
          "--log-level=warn",
        ],
        launch,
      );
      components.push(component);
      try {
        await waitHealthy(
          component,
          {
            url: await reachUrl("http", HOST, clientPort, "/health"),
            ok: (status, body) => status === 200 && body.includes('"true"'),
          },
          timeoutMs,
        );
      } catch (error) {
        components.pop();
        await component.stop();
        throw error;
      }
      return { clientUrl };
    });

    const apiserver = await startWithPorts(async () => {
      const port = await freePort();
      const server = `https://${HOST}:${port}`;
      const component = spawnComponent(
        "kube-apiserver",
        binaries.kubeApiserver,
        withFlags(
          [
            `--etcd-servers=${etcd.clientUrl}`,
            `--cert-dir=${pkiDir}`,
            `--tls-cert-file=${pki.servingCert}`,
            `--tls-private-key-file=${pki.servingKey}`,
            `--secure-port=${port}`,
            `--bind-address=${apiserverOptions.bindAddress ?? HOST}`,
            `--advertise-address=${apiserverOptions.advertiseAddress ?? HOST}`,
            `--service-cluster-ip-range=${apiserverOptions.serviceClusterIpRange ?? "10.0.0.0/24"}`,
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--authorization-mode=RBAC",
            `--service-account-issuer=${server}/`,
            `--service-account-key-file=${pki.saPublicKey}`,
            `--service-account-signing-key-file=${pki.saSigningKey}`,
            `--client-ca-file=${pki.caCert}`,
          ],
          apiserverOptions.extraArgs?.(pki) ?? [],
        ),
        launch,
      );
      components.push(component);
      try {
        await waitHealthy(
          component,
          {
            url: await reachUrl("https", HOST, port, "/readyz"),
            tls: { ca, cert, key },
            ok: (status, body) => status === 200 && body === "ok",
          },
          timeoutMs,
        );
      } catch (error) {
        components.pop();
        await component.stop();
        throw error;
      }
      return { server, reached: await reachUrl("https", HOST, port, "") };
    });

    const innerKubeconfigPath = join(dir, "kubeconfig");
    await writeFile(innerKubeconfigPath, kubeconfig(apiserver.server, { ca, cert, key }), { mode: 0o600 });
    let kubeconfigPath = innerKubeconfigPath;
    if (apiserver.reached !== apiserver.server) {
      kubeconfigPath = join(dir, "kubeconfig.reached");
      await writeFile(kubeconfigPath, kubeconfig(apiserver.reached, { ca, cert, key }), { mode: 0o600 });
    }

    await startWithPorts(async () => {
      const port = await freePort();
      const component = spawnComponent(
        "kube-controller-manager",
        binaries.kubeControllerManager,
        [
          `--kubeconfig=${innerKubeconfigPath}`,
          `--bind-address=${HOST}`,
          `--secure-port=${port}`,
          `--cert-dir=${join(dir, "kcm-certs")}`,
          "--authorization-always-allow-paths=/healthz,/readyz,/livez,/metrics",
          `--root-ca-file=${pki.caCert}`,
          `--service-account-private-key-file=${pki.saSigningKey}`,
          `--controllers=${controllers.join(",")}`,
          "--leader-elect=false",
          ...(options.controllerManagerArgs ?? []),
        ],
        launch,
      );
      components.push(component);
      try {
        await waitHealthy(
          component,
          {
            url: await reachUrl("https", HOST, port, "/healthz"),
            tls: { insecure: true },
            ok: (status, body) => status === 200 && body === "ok",
          },
          timeoutMs,
        );
      } catch (error) {
        components.pop();
        await component.stop();
        throw error;
      }
    });

    const [etcdComponent, apiserverComponent, kcmComponent] = components;
    let stopped: Promise<void> | undefined;
    return {
      kubeconfigPath,
      innerKubeconfigPath,
      server: apiserver.reached,
      binaries,
      dir,
      pki,
      kubectl(args, kubectlOptions = {}) {
        return runKubectl(
          binaries.kubectl,
          ["--kubeconfig", kubeconfigPath, "--cache-dir", join(dir, "kubectl-cache"), ...args],
          kubectlOptions.input,
        );
      },
      logs: () => ({
        etcd: etcdComponent?.output() ?? "",
        apiserver: apiserverComponent?.output() ?? "",
        controllerManager: kcmComponent?.output() ?? "",
      }),
      stop() {
        stopped ??= (async () => {
          await stopAll();
          await rm(dir, { recursive: true, force: true, maxRetries: 3 });
          tempDirs.delete(dir);
        })();
        return stopped;
      },
    };
  } catch (error) {
    await stopAll();
    await rm(dir, { recursive: true, force: true, maxRetries: 3 });
    tempDirs.delete(dir);
    throw error;
  }
}

/** A kubectl call that outlives this (a stuck stream of logs or exec) is killed and answers code 124. */
const KUBECTL_CALL_TIMEOUT_MS = 60_000;

export function runKubectl(
  binary: string,
  args: readonly string[],
  input: string | undefined,
): Promise<KubectlResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, {
      stdio: ["pipe", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: process.env.HOME ?? tmpdir() },
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, KUBECTL_CALL_TIMEOUT_MS);
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      stdout += chunk;
    });
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
      stderr += chunk;
    });
    child.once("error", (error) => {
      clearTimeout(timer);
      reject(error);
    });
    child.once("close", (code, signal) => {
      clearTimeout(timer);
      if (timedOut) {
        const command = `kubectl ${args.filter((arg) => !arg.includes("/")).join(" ")}`;
        resolve({
          code: 124,
          stdout,
          stderr: `${stderr}${command}: no answer within ${KUBECTL_CALL_TIMEOUT_MS} ms`,
        });
        return;
      }
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    // kubectl may exit before reading stdin (e.g. `get`); the resulting EPIPE is not an error of the call.
    child.stdin.on("error", () => undefined);
    child.stdin.end(input ?? "");
  });
}
