/**
 * `npm run image [-- NAME...]`: builds BMN's container images as OCI image layout tars without a container engine
 * or registry, into a cache keyed by the images' inputs:
 *
 *   ${BMN_TOOLS_CACHE:-$HOME/.cache/bmn-tools}/images/<name>-<hash>.tar
 *
 * Images: `bmn` (what the Dockerfile describes: compiled dist, production node_modules, non-root `node` user, the
 * pinned Node LTS), `test-agent` (the end-to-end tests' agent), `redis` (Debian's redis-server) and `pause` (the
 * pod sandbox: Debian's catatonit). A warm cache builds nothing. Prints one line per image: name, reference,
 * path, and `built Ns` or `cached`. Load one with `ctr -n k8s.io images import <tar>` or `docker load -i <tar>`.
 */
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, readdirSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { homedir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { exists, writeOciImage, type ImageSpec } from "./oci-image.js";
import { copyRuntimeAssets } from "./runtime-assets.js";
import {
  bmnImageSpec,
  IMAGE_REFERENCES,
  pauseImageSpec,
  redisImageSpec,
  sharedLibraries,
  testAgentImageSpec,
} from "./image-specs.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const REPO = resolve(HERE, "..", "..", "..");
/** What tsc compiles into dist (tsconfig.build.json's folders): the BMN image's cache key covers all of it. */
const BUILD_INCLUDES = (
  JSON.parse(readFileSync(join(REPO, "tsconfig.build.json"), "utf8")) as { include: string[] }
).include;

export type ImageName = keyof typeof IMAGE_REFERENCES;
export const IMAGE_NAMES = Object.keys(IMAGE_REFERENCES) as ImageName[];

export interface BuiltImage {
  readonly name: ImageName;
  readonly reference: string;
  readonly tar: string;
  readonly cached: boolean;
  readonly seconds: number;
}

export function imageCacheDir(): string {
  return join(process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools"), "images");
}

/** The pinned Node LTS binary, installed into the tools cache if missing. */
export function nodeLtsBinary(): string {
  const bin = execFileSync("bash", [join(REPO, "test", "tools", "node", "install.sh")], { encoding: "utf8" })
    .trim()
    .split("\n")
    .pop();
  if (bin === undefined) throw new Error("test/tools/node/install.sh printed no bin directory");
  return join(bin, "node");
}

class Hasher {
  private readonly hash = createHash("sha256");
  text(value: string): this {
    this.hash.update(`${value}\0`);
    return this;
  }
  file(path: string): this {
    this.text(relative(REPO, path));
    this.hash.update(readFileSync(path));
    return this;
  }
  hex(): string {
    return this.hash.digest("hex").slice(0, 16);
  }
}

/** Every source the compiled dist comes from, tracked or new (not ignored), sorted. */
function buildSources(): string[] {
  const listed = execFileSync(
    "git",
    ["ls-files", "--cached", "--others", "--exclude-standard", "--", ...BUILD_INCLUDES],
    { cwd: REPO, encoding: "utf8" },
  );
  return listed
    .split("\n")
    .filter((file) => file !== "" && !file.endsWith(".test.ts"))
    .sort()
    .map((file) => join(REPO, file))
    .filter((file) => {
      try {
        return statSync(file).isFile();
      } catch {
        return false; // deleted in the work tree but still in the index
      }
    });
}

function toolFiles(hasher: Hasher): Hasher {
  for (const file of readdirSync(HERE).sort()) hasher.file(join(HERE, file));
  return hasher;
}

/** The production packages (what `npm prune --omit=dev` keeps), as top-level directories of node_modules. */
function productionPackages(nodeModules: string): string[] {
  const output = execFileSync("npm", ["ls", "--omit=dev", "--all", "--parseable"], {
    cwd: REPO,
    encoding: "utf8",
    maxBuffer: 16 * 1024 * 1024,
  });
  const topLevel = new Set<string>();
  for (const line of output.split("\n")) {
    const path = relative(nodeModules, line.trim());
    if (line.trim() === "" || path.startsWith("..") || path === "") continue;
    const parts = path.split("/");
    // @scope/name or name; nested node_modules come along with their parent's directory.
    const top = parts[0]?.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? "");
    topLevel.add(join(nodeModules, top));
  }
  return [...topLevel].sort();
}

function compileDist(outDir: string): void {
  const tsc = join(REPO, "node_modules", "typescript", "bin", "tsc");
  execFileSync(
    process.execPath,
    [
      tsc,
      "-p",
      join(REPO, "tsconfig.build.json"),
      "--outDir",
      outDir,
      "--incremental",
      "false",
      "--tsBuildInfoFile",
      "null",
    ],
    { cwd: REPO, stdio: "inherit" },
  );
  copyRuntimeAssets(REPO, outDir);
}

async function bundleTestAgent(outFile: string): Promise<void> {
  // esbuild (a dev dependency): the agent and the client become one file with no node_modules.
  const esbuild = await import("esbuild");
  await esbuild.build({
    entryPoints: [join(REPO, "e2e", "pods", "test-agent.ts")],
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node24",
    outfile: outFile,
    logLevel: "warning",
  });
}

interface Plan {
  readonly key: string;
  /** Gathers the inputs in `work` and returns the image to write. */
  readonly spec: (work: string) => Promise<ImageSpec>;
}

function plan(name: ImageName, nodeBinary: string): Plan {
  const nodeLibraries = sharedLibraries(nodeBinary);
  switch (name) {
    case "bmn": {
      const nodeModules = join(REPO, "node_modules");
      const hasher = toolFiles(new Hasher().text(name)).file(nodeBinary);
      for (const file of ["package.json", "package-lock.json", "tsconfig.json", "tsconfig.build.json"]) {
        hasher.file(join(REPO, file));
      }
      for (const file of buildSources()) hasher.file(file);
      return {
        key: hasher.hex(),
        spec: (work) => {
          const dist = join(work, "dist");
          compileDist(dist);
          return Promise.resolve(
            bmnImageSpec({
              nodeBinary,
              nodeLibraries,
              packageJson: join(REPO, "package.json"),
              nodeModules,
              productionPackages: productionPackages(nodeModules),
              dist,
            }),
          );
        },
      };
    }
    case "testAgent": {
      const hasher = toolFiles(new Hasher().text(name))
        .file(nodeBinary)
        .file(join(REPO, "package-lock.json"));
      for (const file of [join(REPO, "e2e", "pods", "test-agent.ts"), ...buildSources()]) {
        if (file.includes("/client/") || file.endsWith("test-agent.ts") || file.includes("/core/")) {
          hasher.file(file);
        }
      }
      return {
        key: hasher.hex(),
        spec: async (work) => {
          const bundle = join(work, "test-agent.mjs");
          await bundleTestAgent(bundle);
          return testAgentImageSpec({ nodeBinary, nodeLibraries, bundle });
        },
      };
    }
    case "redis": {
      const redisServer = "/usr/bin/redis-server";
      const libraries = sharedLibraries(redisServer);
      const hasher = toolFiles(new Hasher().text(name)).file(redisServer);
      for (const library of libraries) hasher.file(library);
      return {
        key: hasher.hex(),
        spec: () => Promise.resolve(redisImageSpec({ redisServer, libraries })),
      };
    }
    case "pause": {
      const catatonit = "/usr/bin/catatonit";
      return {
        key: toolFiles(new Hasher().text(name)).file(catatonit).hex(),
        spec: () => Promise.resolve(pauseImageSpec({ catatonit })),
      };
    }
  }
}

/** Builds the named images (default all) unless cached; never rebuilds an image whose inputs did not change. */
export async function buildImages(names: readonly ImageName[] = IMAGE_NAMES): Promise<BuiltImage[]> {
  const cache = imageCacheDir();
  mkdirSync(cache, { recursive: true });
  const nodeBinary = nodeLtsBinary();
  const built: BuiltImage[] = [];
  for (const name of names) {
    const start = Date.now();
    const { key, spec } = plan(name, nodeBinary);
    const tar = join(cache, `${name}-${key}.tar`);
    if (await exists(tar)) {
      built.push({ name, reference: IMAGE_REFERENCES[name], tar, cached: true, seconds: 0 });
      continue;
    }
    const work = await mkdtemp(join(cache, `.work-${name}-`));
    try {
      await writeOciImage(await spec(work), tar);
    } finally {
      await rm(work, { recursive: true, force: true });
    }
    // Earlier builds of this image are stale now: keep the cache to one tar per image.
    for (const file of readdirSync(cache)) {
      if (file.startsWith(`${name}-`) && file.endsWith(".tar") && join(cache, file) !== tar) {
        await rm(join(cache, file), { force: true });
      }
    }
    built.push({
      name,
      reference: IMAGE_REFERENCES[name],
      tar,
      cached: false,
      seconds: Math.round((Date.now() - start) / 1000),
    });
  }
  return built;
}

if (process.argv[1] !== undefined && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const asked = process.argv.slice(2);
  const unknown = asked.filter((name) => !(IMAGE_NAMES as string[]).includes(name));
  if (unknown.length > 0) {
    process.stderr.write(
      `npm run image: unknown image ${unknown.join(", ")}; choose from ${IMAGE_NAMES.join(", ")}\n`,
    );
    process.exit(2);
  }
  const images = await buildImages(asked.length > 0 ? (asked as ImageName[]) : IMAGE_NAMES);
  for (const image of images) {
    const state = image.cached ? "cached" : `built ${image.seconds}s`;
    process.stdout.write(`${image.name.padEnd(10)} ${image.reference.padEnd(36)} ${image.tar} ${state}\n`);
  }
}
