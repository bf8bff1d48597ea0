import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { createWriteStream } from "node:fs";
import { cp, mkdir, mkdtemp, rename, rm, stat, writeFile } from "node:fs/promises";
import { dirname, join } from "node:path";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { createGzip } from "node:zlib";

/**
 * Writes an OCI image layout tar (https://github.com/opencontainers/image-spec/blob/main/image-layout.md) without
 * a container engine or registry: each layer is a directory tree tarred with GNU tar (sorted names, mtime 0,
 * every entry owned by root), gzipped, and named by its sha256. `ctr images import` and `docker load` read the result.
 */

/** One entry of a layer: a host file or directory copied to `path`, or a file with the given `content`. */
export type LayerEntry =
  | { readonly path: string; readonly from: string; readonly mode?: number }
  | { readonly path: string; readonly content: string; readonly mode?: number }
  | { readonly path: string; readonly directory: true; readonly mode?: number };

export interface LayerSpec {
  /** For messages and the image history. */
  readonly name: string;
  readonly entries: readonly LayerEntry[];
}

/** The runtime part of an image config (the OCI `config` object). */
export interface ImageConfig {
  readonly User?: string;
  readonly Env?: readonly string[];
  readonly Entrypoint?: readonly string[];
  readonly Cmd?: readonly string[];
  readonly WorkingDir?: string;
  readonly ExposedPorts?: Readonly<Record<string, Record<string, never>>>;
}

export interface ImageSpec {
  /** The full reference containerd stores it under, e.g. "bmn.local/beast-mode-network:dev". */
  readonly reference: string;
  readonly layers: readonly LayerSpec[];
  readonly config: ImageConfig;
}

export interface BuiltLayer {
  readonly digest: string;
  readonly diffId: string;
  readonly size: number;
}

const GNU_TAR_DETERMINISM = [
  "--sort=name",
  "--mtime=@0",
  "--numeric-owner",
  "--format=posix",
  "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
];

function run(command: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.once("error", reject);
    child.once("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(" ")} exited ${String(code)}: ${stderr.trim()}`));
    });
  });
}

function sha256Stream(): { transform: Transform; digest: () => string; size: () => number } {
  const hash = createHash("sha256");
  let size = 0;
  const transform = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      hash.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  return { transform, digest: () => `sha256:${hash.digest("hex")}`, size: () => size };
}

/** Lays out a layer's entries under `root`, as they will be in the image. */
async function stageLayer(layer: LayerSpec, root: string): Promise<void> {
  for (const entry of layer.entries) {
    const target = join(root, entry.path);
    if ("directory" in entry) {
      await mkdir(target, { recursive: true, mode: entry.mode ?? 0o755 });
    } else if ("content" in entry) {
      await mkdir(dirname(target), { recursive: true });
      await writeFile(target, entry.content, { mode: entry.mode ?? 0o644 });
    } else {
      await mkdir(dirname(target), { recursive: true });
      // dereference: node_modules may be a symlink; the image gets the real files.
      await cp(entry.from, target, { recursive: true, dereference: true, preserveTimestamps: false });
    }
    // mkdir's and writeFile's modes are filtered by the umask; the image must get exactly the asked mode.
    if (entry.mode !== undefined) await run("chmod", [entry.mode.toString(8), target]);
  }
}

/** Tars and gzips the staged tree (every entry owned by root, as Docker's COPY does) into blobs/sha256/. */
async function writeLayer(stageRoot: string, blobs: string): Promise<BuiltLayer> {
  const tmp = join(blobs, `.layer-${process.pid}`);
  const uncompressed = sha256Stream();
  const compressed = sha256Stream();
  const tar = spawn(
    "tar",
    [...GNU_TAR_DETERMINISM, "--owner=0", "--group=0", "-C", stageRoot, "-cf", "-", "."],
    {
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let stderr = "";
  tar.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => tar.once("close", resolve));
  await pipeline(
    tar.stdout,
    uncompressed.transform,
    createGzip({ level: 6 }),
    compressed.transform,
    createWriteStream(tmp),
  );
  const code = await exited;
  if (code !== 0) throw new Error(`tar of ${stageRoot} exited ${String(code)}: ${stderr.trim()}`);
  const digest = compressed.digest();
  await rename(tmp, join(blobs, digest.slice("sha256:".length)));
  return { digest, diffId: uncompressed.digest(), size: compressed.size() };
}

function jsonBlob(value: unknown): { bytes: Buffer; digest: string } {
  const bytes = Buffer.from(JSON.stringify(value));
  return { bytes, digest: `sha256:${createHash("sha256").update(bytes).digest("hex")}` };
}

/**
 * Builds `spec` into an OCI image layout tar at `outputTar` (written under a temporary name, then renamed).
 * Returns the manifest digest.
 */
export async function writeOciImage(spec: ImageSpec, outputTar: string): Promise<{ manifestDigest: string }> {
  const work = await mkdtemp(join(dirname(outputTar), ".oci-build-"));
  try {
    const layout = join(work, "layout");
    const blobs = join(layout, "blobs", "sha256");
    await mkdir(blobs, { recursive: true });
    const built: BuiltLayer[] = [];
    for (const [index, layer] of spec.layers.entries()) {
      const stageRoot = join(work, `stage-${index}`);
      await mkdir(stageRoot);
      await stageLayer(layer, stageRoot);
      built.push(await writeLayer(stageRoot, blobs));
      await rm(stageRoot, { recursive: true, force: true });
    }
    const config = jsonBlob({
      architecture: "amd64",
      os: "linux",
      config: spec.config,
      rootfs: { type: "layers", diff_ids: built.map((layer) => layer.diffId) },
      history: spec.layers.map((layer) => ({ created: "1970-01-01T00:00:00Z", created_by: layer.name })),
    });
    await writeFile(join(blobs, config.digest.slice(7)), config.bytes);
    const manifest = jsonBlob({
      schemaVersion: 2,
      mediaType: "application/vnd.oci.image.manifest.v1+json",
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: config.digest,
        size: config.bytes.length,
      },
      layers: built.map((layer) => ({
        mediaType: "application/vnd.oci.image.layer.v1.tar+gzip",
        digest: layer.digest,
        size: layer.size,
      })),
    });
    await writeFile(join(blobs, manifest.digest.slice(7)), manifest.bytes);
    const tag = spec.reference.slice(spec.reference.lastIndexOf(":") + 1);
    await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
    await writeFile(
      join(layout, "index.json"),
      JSON.stringify({
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.index.v1+json",
        manifests: [
          {
            mediaType: "application/vnd.oci.image.manifest.v1+json",
            digest: manifest.digest,
            size: manifest.bytes.length,
            annotations: {
              "io.containerd.image.name": spec.reference,
              "org.opencontainers.image.ref.name": tag,
            },
          },
        ],
      }),
    );
    const tmpTar = join(work, "image.tar");
    await run("tar", [...GNU_TAR_DETERMINISM, "--owner=0", "--group=0", "-C", layout, "-cf", tmpTar, "."]);
    await rename(tmpTar, outputTar);
    return { manifestDigest: manifest.digest };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** True when `path` exists. */
export async function exists(path: string): Promise<boolean> {
  try {
    await stat(path);
    return true;
  } catch {
    return false;
  }
}
