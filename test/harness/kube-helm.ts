import { execFile } from "node:child_process";
import { join } from "node:path";
import { startControlPlane, type ControlPlane, type KubectlResult } from "./kube-control-plane.js";

/**
 * Runs the built helm against a test control plane, in `cwd`, with its config and cache inside the plane's temp
 * dir (no user helm config or repositories); never throws for a non-zero exit code.
 */
export function runHelm(plane: ControlPlane, args: readonly string[], cwd: string): Promise<KubectlResult> {
  const dir = plane.dir;
  return new Promise((resolve) => {
    execFile(
      plane.binaries.helm,
      [...args, "--kubeconfig", plane.kubeconfigPath],
      {
        cwd,
        env: {
          PATH: process.env.PATH ?? "/usr/bin:/bin",
          HOME: dir,
          HELM_CACHE_HOME: join(dir, "helm", "cache"),
          HELM_CONFIG_HOME: join(dir, "helm", "config"),
          HELM_DATA_HOME: join(dir, "helm", "data"),
        },
        maxBuffer: 16 * 1024 * 1024,
      },
      (error, stdout, stderr) => {
        resolve({
          code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
          stdout,
          stderr,
        });
      },
    );
  });
}

/** A chart test's control plane, started in beforeAll, with kubectl and helm bound to it. */
export interface HelmTestPlane {
  /** Starts the control plane (for beforeAll). */
  readonly start: () => Promise<void>;
  /** Stops it (for afterAll); does nothing when it did not start. */
  readonly stop: () => Promise<void>;
  /** The started control plane; throws before start(). */
  readonly plane: () => ControlPlane;
  readonly kubectl: (args: readonly string[], input?: string) => Promise<KubectlResult>;
  /** helm in `cwd` (the repository root). */
  readonly helm: (args: readonly string[]) => Promise<KubectlResult>;
}

export function helmTestPlane(cwd: string): HelmTestPlane {
  let started: ControlPlane | undefined;
  const plane = (): ControlPlane => {
    if (started === undefined) throw new Error("the control plane did not start");
    return started;
  };
  return {
    start: async () => {
      started = await startControlPlane();
    },
    stop: async () => {
      await started?.stop();
    },
    plane,
    kubectl: (args, input) => plane().kubectl(args, input === undefined ? {} : { input }),
    helm: (args) => runHelm(plane(), args, cwd),
  };
}
