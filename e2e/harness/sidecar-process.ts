import { BmnProcess } from "../../test/harness/bmn-process.js";
import { freePort } from "../../test/harness/free-port.js";

/** A `bmn start` in a process group of its own, which a test can SIGKILL and start again on the same port. */
export type SidecarProcess = BmnProcess;

/** Starts `bmn start` with `env` (store settings) on a free port and waits for /readyz. */
export async function startSidecar(env: Record<string, string>, label = "sidecar"): Promise<SidecarProcess> {
  return BmnProcess.start({
    label,
    port: await freePort(),
    args: (port) => ["start", "--port", String(port)],
    env,
    readyPath: "/readyz",
  });
}
