import { execFile } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const FETCH_SCRIPT = join(dirname(fileURLToPath(import.meta.url)), "..", "tools", "gateway-api", "fetch.sh");

/**
 * The directory holding the Kubernetes Gateway API's standard CRDs at the version test/tools/gateway-api/go.mod
 * pins, fetched through the Go module proxy into the tools cache on first use (test/tools/gateway-api/fetch.sh).
 */
export async function gatewayApiCrdDir(): Promise<string> {
  const { stdout } = await promisify(execFile)("bash", [FETCH_SCRIPT], { timeout: 300_000 });
  const dir = /^dir (.+)$/m.exec(stdout)?.[1];
  if (dir === undefined) throw new Error(`fetch.sh printed no directory: ${stdout}`);
  return dir;
}
