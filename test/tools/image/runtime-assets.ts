import { cpSync } from "node:fs";
import { join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/**
 * Files the compiled program reads at run time, beside tsc's output: the Redis scripts and the console's page
 * modules (served with their types stripped). `npm run build` and `npm run image` both copy exactly these.
 */
export const RUNTIME_ASSET_DIRS = ["store/redis/lua", "console/ui"] as const;

export function copyRuntimeAssets(repo: string, outDir: string): void {
  for (const dir of RUNTIME_ASSET_DIRS) cpSync(join(repo, dir), join(outDir, dir), { recursive: true });
}

// `node test/tools/image/runtime-assets.ts <outDir>` (Node strips the types itself), as `npm run build` runs it.
if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const repo = fileURLToPath(new URL("../../..", import.meta.url));
  copyRuntimeAssets(repo, resolve(process.argv[2] ?? "dist"));
}
