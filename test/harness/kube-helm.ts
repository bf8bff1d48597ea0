import { execFile } from "node:child_process";
import { join } from "node:path";
import type { ControlPlane, KubectlResult } from "./kube-control-plane.js";

/**
 * Runs the built helm against a test control plane, with its config and cache inside the plane's temp dir (no
 * user helm config or repositories can change what it does). Never throws for a non-zero exit code.
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
