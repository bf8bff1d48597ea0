import { execFile } from "node:child_process";
import { cp, mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { onProcessExit } from "../test/harness/exit-hooks.js";

const ROOT = fileURLToPath(new URL("..", import.meta.url));

/**
 * Compiles the sidecar with tsc into a temp dir (what `npm run build` makes, without touching the repo's dist/)
 * and returns the path of its `bmn.js`. `bmn start` through the tsx loader carries the loader's own thread and
 * transpile caches (~40 MB RSS here); this is the figure a built deployment would see.
 */
export async function compileSidecar(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), "bmn-bench-dist-"));
  onProcessExit(() => {
    rmSync(dir, { recursive: true, force: true });
  });
  const tsc = join(ROOT, "node_modules", "typescript", "bin", "tsc");
  try {
    await promisify(execFile)(
      process.execPath,
      [tsc, "-p", join(ROOT, "tsconfig.build.json"), "--outDir", dir],
      {
        cwd: ROOT,
      },
    );
  } catch (error) {
    // tsc still emits on type errors (files others are editing); only a missing entry point is fatal below.
    process.stderr.write(
      `tsc reported errors while compiling the sidecar: ${(error as Error).message.slice(0, 500)}\n`,
    );
  }
  await cp(join(ROOT, "sidecar", "store", "redis", "lua"), join(dir, "sidecar", "store", "redis", "lua"), {
    recursive: true,
  });
  await symlink(join(ROOT, "node_modules"), join(dir, "node_modules"), "dir");
  await writeFile(join(dir, "package.json"), JSON.stringify({ type: "module" }));
  return join(dir, "cli", "bmn.js");
}

/** Removes a compiled tree early (the exit hook is the fallback). */
export async function removeCompiled(entry: string): Promise<void> {
  await rm(join(entry, "..", ".."), { recursive: true, force: true });
}
