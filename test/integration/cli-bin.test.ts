import { execFile } from "node:child_process";
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { afterAll, describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const BIN = join(root, "cli", "bin", "bmn.js");

describe("the bmn executable", () => {
  const work = mkdtempSync(join(tmpdir(), "bmn-bin-"));
  afterAll(() => {
    rmSync(work, { recursive: true, force: true });
  });

  it("in a checkout runs the TypeScript source, even where a build left dist/ beside it", async () => {
    const checkout = join(work, "checkout");
    mkdirSync(join(checkout, "cli", "bin"), { recursive: true });
    mkdirSync(join(checkout, "dist", "cli"), { recursive: true });
    copyFileSync(BIN, join(checkout, "cli", "bin", "bmn.js"));
    writeFileSync(join(checkout, "package.json"), JSON.stringify({ type: "module" }));
    // tsx, which the bin loads for a source, from the repository's own dependencies.
    symlinkSync(join(root, "node_modules"), join(checkout, "node_modules"), "dir");
    writeFileSync(join(checkout, "cli", "bmn.ts"), 'const from: string = "source";\nconsole.log(from);\n');
    writeFileSync(join(checkout, "dist", "cli", "bmn.js"), 'console.log("a stale build");\n');
    const { stdout } = await run(process.execPath, [join(checkout, "cli", "bin", "bmn.js")]);
    expect(stdout.trim()).toBe("source");
  });

  it("in an installed package, which ships no sources, runs the compiled dist/cli/bmn.js", async () => {
    const installed = join(work, "node_modules", "beast-mode-network");
    mkdirSync(join(installed, "cli", "bin"), { recursive: true });
    mkdirSync(join(installed, "dist", "cli"), { recursive: true });
    copyFileSync(BIN, join(installed, "cli", "bin", "bmn.js"));
    writeFileSync(join(installed, "package.json"), JSON.stringify({ type: "module" }));
    // A stand-in for tsc's output: what runs is told by what it prints.
    writeFileSync(
      join(installed, "dist", "cli", "bmn.js"),
      'console.log("compiled", process.argv.slice(2).join(" "));\n',
    );
    const { stdout } = await run(process.execPath, [
      join(installed, "cli", "bin", "bmn.js"),
      "send",
      "--to",
      "x",
    ]);
    expect(stdout.trim()).toBe("compiled send --to x");
  });

  it("the package ships the bin and dist/ only: no sources, tests or benchmarks", async () => {
    const { stdout } = await run("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: root });
    const [pack] = JSON.parse(stdout) as { files: { path: string }[] }[];
    const paths = (pack?.files ?? []).map((file) => file.path);
    expect(paths).toContain("cli/bin/bmn.js");
    expect(paths).toContain("package.json");
    // What the bin runs ships too, once built (`prepack` builds it; a fresh checkout has no dist/ to pack).
    if (existsSync(join(root, "dist", "cli", "bmn.js"))) expect(paths).toContain("dist/cli/bmn.js");
    const outside = paths.filter(
      (path) =>
        !path.startsWith("dist/") &&
        !["cli/bin/bmn.js", "package.json", "README.md", "LICENSE"].includes(path),
    );
    expect(outside).toEqual([]);
    expect(paths.filter((path) => path.startsWith("dist/bench/") || path.endsWith(".tsbuildinfo"))).toEqual(
      [],
    );
    // The compiled program reads its console page modules as TypeScript; no other source may ship.
    expect(
      paths.filter(
        (path) => path.endsWith(".ts") && !path.endsWith(".d.ts") && !path.startsWith("dist/console/ui/"),
      ),
    ).toEqual([]);
  });
});
