import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  APP_COPIES,
  APP_DIR,
  BMN_IMAGE_CONFIG,
  bmnImageSpec,
  NODE_BINARY_PATH,
  NODE_USER,
} from "../tools/image/image-specs.js";

// `npm run image` builds without Docker what the Dockerfile describes; this keeps the two equivalent.
const root = join(import.meta.dirname, "..", "..");
const dockerfile = readFileSync(join(root, "Dockerfile"), "utf8");
const runStage = dockerfile.slice(dockerfile.lastIndexOf("\nFROM "));
const instructions = runStage
  .split("\n")
  .filter((line) => /^[A-Z]+ /.test(line))
  .map((line) => {
    const space = line.indexOf(" ");
    return { op: line.slice(0, space), args: line.slice(space + 1).trim() };
  });
const all = (op: string): string[] => instructions.filter((i) => i.op === op).map((i) => i.args);
const last = (op: string): string => all(op).at(-1) ?? "";

const spec = bmnImageSpec({
  nodeBinary: "/usr/bin/node",
  nodeLibraries: ["/lib/x86_64-linux-gnu/libc.so.6"],
  packageJson: "/repo/package.json",
  nodeModules: "/repo/node_modules",
  productionPackages: ["/repo/node_modules/fastify", "/repo/node_modules/@kubernetes/client-node"],
  dist: "/build/dist",
});
const imagePaths = spec.layers.flatMap((layer) => layer.entries.map((entry) => entry.path));

describe("the image npm run image builds equals the Dockerfile's", () => {
  it("has the same entrypoint, command, user, working dir, environment and ports", () => {
    expect(JSON.parse(last("ENTRYPOINT"))).toEqual(BMN_IMAGE_CONFIG.Entrypoint);
    expect(JSON.parse(last("CMD"))).toEqual(BMN_IMAGE_CONFIG.Cmd);
    expect(last("USER")).toBe(BMN_IMAGE_CONFIG.User);
    expect(last("WORKDIR")).toBe(APP_DIR);
    for (const env of all("ENV")) expect(BMN_IMAGE_CONFIG.Env).toContain(env);
    const exposed = all("EXPOSE").flatMap((args) => args.split(/\s+/).map((port) => `${port}/tcp`));
    expect(Object.keys(BMN_IMAGE_CONFIG.ExposedPorts ?? {}).sort()).toEqual(exposed.sort());
  });

  it("copies the same files into /app: package.json, the production node_modules and dist", () => {
    const copied = all("COPY").map((args) => {
      const parts = args.split(/\s+/).filter((part) => !part.startsWith("--"));
      return parts[0]?.replace(/^\/app\//, "") ?? "";
    });
    expect([...copied].sort()).toEqual([...APP_COPIES].sort());
    for (const copy of APP_COPIES) {
      expect(
        imagePaths.some((path) => path === `${APP_DIR}/${copy}` || path.startsWith(`${APP_DIR}/${copy}/`)),
      ).toBe(true);
    }
    expect(imagePaths).toContain(`${APP_DIR}/node_modules/@kubernetes/client-node`);
    // Nothing else under /app: no sources, no dev dependencies, no tests.
    expect(
      imagePaths
        .filter((path) => path.startsWith(`${APP_DIR}/`))
        .every((path) => APP_COPIES.some((copy) => path.startsWith(`${APP_DIR}/${copy}`))),
    ).toBe(true);
  });

  it("runs the same Node major as the Dockerfile's base image, as the non-root node user (uid 1000)", () => {
    const base = /^FROM node:(\d+)-/m.exec(runStage)?.[1];
    const pinned = /version="\$\{BMN_NODE_VERSION:-(\d+)\./.exec(
      readFileSync(join(root, "test", "tools", "node", "install.sh"), "utf8"),
    )?.[1];
    expect(base).toBeDefined();
    expect(pinned).toBe(base);
    expect(imagePaths).toContain(NODE_BINARY_PATH);
    const passwd = spec.layers
      .flatMap((layer) => layer.entries)
      .find((entry) => entry.path === "/etc/passwd");
    expect(passwd && "content" in passwd ? passwd.content : "").toContain(
      `${NODE_USER.name}:x:${NODE_USER.uid}:${NODE_USER.gid}:`,
    );
  });
});
