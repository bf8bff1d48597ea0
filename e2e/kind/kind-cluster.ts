import { execFile, spawnSync } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { KubectlResult } from "../../test/harness/kube-control-plane.js";
import { ctrTagArgs } from "../../test/harness/kube-node.js";

/**
 * The same real-pod suite on a kind cluster, for users with Docker (`BMN_E2E_CLUSTER=kind`, see
 * e2e/kind/README.md). Not run in this repository's CI, which has no Docker engine: only this file differs from
 * the kubelet node of test/harness/kube-node.ts.
 */

export interface ClusterBackend {
  readonly kubectl: (args: readonly string[], input?: string) => Promise<KubectlResult>;
  readonly helm: (args: readonly string[]) => Promise<KubectlResult>;
  /** Gives an image already on the node a second reference. */
  readonly tagImage: (source: string, target: string) => Promise<void>;
  readonly stop: () => Promise<void>;
}

function run(command: string, args: readonly string[], input?: string): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = execFile(command, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout, stderr });
    });
    child.stdin?.end(input ?? "");
  });
}

async function mustRun(command: string, args: readonly string[]): Promise<void> {
  const result = await run(command, args);
  if (result.code !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
}

/** Undefined when kind, docker, kubectl and helm are on PATH; else what is missing. */
export function kindUnavailable(): string | undefined {
  const missing = ["kind", "docker", "kubectl", "helm"].filter(
    (tool) => spawnSync("sh", ["-c", `command -v ${tool}`]).status !== 0,
  );
  return missing.length === 0 ? undefined : `the kind e2e run needs ${missing.join(", ")} on PATH`;
}

/** `kind create cluster`, then `kind load image-archive` of each image tar (OCI layouts load as they are). */
export async function startKindCluster(imageTars: readonly string[]): Promise<ClusterBackend> {
  const name = `bmn-e2e-${process.pid}`;
  const dir = await mkdtemp(join(tmpdir(), "bmn-kind-"));
  const kubeconfig = join(dir, "kubeconfig");
  await mustRun("kind", ["create", "cluster", "--name", name, "--kubeconfig", kubeconfig, "--wait", "180s"]);
  const stop = async (): Promise<void> => {
    await run("kind", ["delete", "cluster", "--name", name]);
    await rm(dir, { recursive: true, force: true });
  };
  try {
    for (const tar of imageTars) await mustRun("kind", ["load", "image-archive", tar, "--name", name]);
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    kubectl: (args, input) => run("kubectl", ["--kubeconfig", kubeconfig, ...args], input),
    helm: (args) => run("helm", [...args, "--kubeconfig", kubeconfig]),
    tagImage: (source, target) =>
      mustRun("docker", ["exec", `${name}-control-plane`, "ctr", ...ctrTagArgs(source, target)]),
    stop,
  };
}
