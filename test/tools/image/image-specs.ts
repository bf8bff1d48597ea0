import { execFileSync } from "node:child_process";
import { realpathSync } from "node:fs";
import { relative } from "node:path";
import type { ImageConfig, ImageSpec, LayerEntry, LayerSpec } from "./oci-image.js";

/**
 * What each image holds: pure functions of their inputs, so a unit test can compare the BMN image with the
 * Dockerfile without building anything. build-images.ts gathers the inputs and writes the tars.
 */

/** The Dockerfile's runtime user: Debian's node image names uid 1000 `node`. */
export const NODE_USER = { name: "node", uid: 1000, gid: 1000 } as const;

/** Where the Dockerfile's base image (node:<major>-bookworm-slim) has the node binary. */
export const NODE_BINARY_PATH = "/usr/local/bin/node";

/** The image's /app (the Dockerfile's WORKDIR) and what the run stage copies into it. */
export const APP_DIR = "/app";
export const APP_COPIES = ["package.json", "node_modules", "dist"] as const;

/** The references the images get in containerd (never pushed anywhere; pods use imagePullPolicy: Never). */
export const IMAGE_REFERENCES = {
  bmn: "bmn.local/beast-mode-network:dev",
  testAgent: "bmn.local/bmn-test-agent:dev",
  redis: "bmn.local/redis:dev",
  pause: "bmn.local/pause:dev",
} as const;

const PASSWD = `root:x:0:0:root:/root:/usr/sbin/nologin
${NODE_USER.name}:x:${NODE_USER.uid}:${NODE_USER.gid}::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
`;
const GROUP = `root:x:0:
${NODE_USER.name}:x:${NODE_USER.gid}:
nogroup:x:65534:
`;

/** The shared libraries `ldd` lists for a dynamically linked binary (absolute paths as the loader sees them). */
export function sharedLibraries(binary: string): string[] {
  const output = execFileSync("ldd", [binary], { encoding: "utf8" });
  const libraries: string[] = [];
  for (const line of output.split("\n")) {
    // "libc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x...)" or "/lib64/ld-linux-x86-64.so.2 (0x...)"
    const match = /(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/.exec(line);
    if (match?.[1]) libraries.push(match[1]);
  }
  return libraries;
}

/** A minimal root file set for a binary: itself, its libraries, users, and a sticky /tmp. */
export function minimalRoot(binary: { from: string; path: string }, libraries: readonly string[]): LayerSpec {
  const entries: LayerEntry[] = [
    { path: binary.path, from: realpathSync(binary.from), mode: 0o755 },
    ...libraries.map((library) => ({ path: library, from: realpathSync(library), mode: 0o755 })),
    { path: "/etc/passwd", content: PASSWD },
    { path: "/etc/group", content: GROUP },
    { path: "/tmp", directory: true, mode: 0o1777 },
    { path: "/home/node", directory: true },
  ];
  return { name: `${binary.path} with ${libraries.length} libraries`, entries };
}

export interface BmnImageInputs {
  /** The Node LTS binary (test/tools/node/install.sh). */
  readonly nodeBinary: string;
  readonly nodeLibraries: readonly string[];
  /** The repository's package.json. */
  readonly packageJson: string;
  /** The production packages, as directories under the repository's node_modules. */
  readonly productionPackages: readonly string[];
  readonly nodeModules: string;
  /** A fresh compile of tsconfig.build.json, with the runtime assets copied as `npm run build` does. */
  readonly dist: string;
}

/** The runtime config of the Dockerfile's run stage. */
export const BMN_IMAGE_CONFIG: ImageConfig = {
  User: NODE_USER.name,
  Env: ["PATH=/usr/local/bin:/usr/bin:/bin", "NODE_ENV=production"],
  WorkingDir: APP_DIR,
  Entrypoint: ["node", "dist/cli/bmn.js"],
  Cmd: ["start"],
  ExposedPorts: { "7420/tcp": {}, "8080/tcp": {} },
};

/** The BMN image: the Dockerfile's run stage, layer by layer (base, production dependencies, compiled code). */
export function bmnImageSpec(inputs: BmnImageInputs): ImageSpec {
  const base = minimalRoot({ from: inputs.nodeBinary, path: NODE_BINARY_PATH }, inputs.nodeLibraries);
  return {
    reference: IMAGE_REFERENCES.bmn,
    layers: [
      { ...base, name: `node runtime: ${base.name}` },
      {
        name: "COPY package.json node_modules (production)",
        entries: [
          { path: `${APP_DIR}/package.json`, from: inputs.packageJson },
          ...inputs.productionPackages.map((dir) => ({
            path: `${APP_DIR}/node_modules/${relative(inputs.nodeModules, dir)}`,
            from: dir,
          })),
        ],
      },
      { name: "COPY dist", entries: [{ path: `${APP_DIR}/dist`, from: inputs.dist }] },
    ],
    config: BMN_IMAGE_CONFIG,
  };
}

/** The end-to-end tests' agent: one bundled script on the same Node, talking to its sidecar at 127.0.0.1:7420. */
export function testAgentImageSpec(inputs: {
  nodeBinary: string;
  nodeLibraries: readonly string[];
  bundle: string;
}): ImageSpec {
  return {
    reference: IMAGE_REFERENCES.testAgent,
    layers: [
      minimalRoot({ from: inputs.nodeBinary, path: NODE_BINARY_PATH }, inputs.nodeLibraries),
      { name: "test agent", entries: [{ path: "/agent/test-agent.mjs", from: inputs.bundle }] },
    ],
    config: {
      User: `${NODE_USER.uid}:${NODE_USER.gid}`,
      Env: ["PATH=/usr/local/bin:/usr/bin:/bin"],
      WorkingDir: "/agent",
      Entrypoint: ["node", "/agent/test-agent.mjs"],
    },
  };
}

/** Debian's redis-server and its libraries; the pod's args choose port and persistence. */
export function redisImageSpec(inputs: { redisServer: string; libraries: readonly string[] }): ImageSpec {
  return {
    reference: IMAGE_REFERENCES.redis,
    layers: [
      minimalRoot({ from: inputs.redisServer, path: "/usr/bin/redis-server" }, inputs.libraries),
      { name: "data dir", entries: [{ path: "/data", directory: true, mode: 0o1777 }] },
    ],
    config: {
      User: `${NODE_USER.uid}:${NODE_USER.gid}`,
      WorkingDir: "/data",
      Entrypoint: ["/usr/bin/redis-server"],
      ExposedPorts: { "6379/tcp": {} },
    },
  };
}

/** The pod sandbox ("pause") image: Debian's static catatonit in pause mode. */
export function pauseImageSpec(inputs: { catatonit: string }): ImageSpec {
  return {
    reference: IMAGE_REFERENCES.pause,
    layers: [{ name: "catatonit", entries: [{ path: "/catatonit", from: inputs.catatonit, mode: 0o755 }] }],
    config: { User: "65534:65534", Entrypoint: ["/catatonit", "-P"] },
  };
}
