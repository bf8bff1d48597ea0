import {
  controlPlaneBinaries,
  startControlPlane,
  type ControlPlane,
  type ControlPlaneOptions,
} from "./kube-control-plane.js";

/** A real control plane with the repository's generated CRDs applied and established. */
export async function startControlPlaneWithCrds(
  options: Omit<ControlPlaneOptions, "binaries"> = {},
): Promise<ControlPlane> {
  const binaries = controlPlaneBinaries();
  if (binaries === undefined) {
    throw new Error(
      "control-plane binaries are not built: run `bash test/tools/k8s/build.sh` (about 9 min cold)",
    );
  }
  const plane = await startControlPlane({ ...options, binaries });
  try {
    for (const args of [
      ["apply", "--server-side", "-f", "crds/"],
      ["wait", "--for=condition=Established", "--timeout=60s", "crd", "--all"],
    ]) {
      const result = await plane.kubectl(args);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${result.stderr}`);
    }
  } catch (error) {
    await plane.stop();
    throw error;
  }
  return plane;
}
