import { execFile } from "node:child_process";
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildServer } from "../../sidecar/server/build-server.js";
import { InMemoryStore } from "../../store/memory/memory-store.js";

const run = promisify(execFile);
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
const manifest = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as Record<string, unknown>;

/** What an app writes after `npm install beast-mode-network`; typed with the package's own declarations. */
const APP = `
import { BmnClient, BmnClientError, type Delivery, type SendResult } from "beast-mode-network/client";

const client = new BmnClient({ url: process.argv[2], agent: "pkg" });
const sent: SendResult = await client.send({ type: "demo.hello", to: "pkg", data: { n: 1 } });
const deliveries: Delivery[] = await client.receive({ max: 1 });
await client.ack(deliveries[0]?.leaseId ?? "");
let refused = "";
try {
  await client.send({ type: "demo.hello", to: "Not A Name" });
} catch (error) {
  if (error instanceof BmnClientError) refused = error.errorCode;
}
console.log(JSON.stringify({ sent: sent.id, received: deliveries[0]?.message.id, refused }));
`;

/**
 * The client as an installed package: the package is compiled from client/index.ts alone into a node_modules
 * folder with the real package.json `exports`, and an app in another folder imports `beast-mode-network/client`.
 */
describe("beast-mode-network/client, imported as an installed package", () => {
  let work: string;
  let packageDir: string;
  let app: FastifyInstance | undefined;
  let url: string;

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), "bmn-client-package-"));
    packageDir = join(work, "node_modules", "beast-mode-network");
    mkdirSync(packageDir, { recursive: true });
    const { name, version, type, exports } = manifest;
    writeFileSync(join(packageDir, "package.json"), JSON.stringify({ name, version, type, exports }));
    // The package's own dependencies (zod), as npm would install them.
    symlinkSync(join(root, "node_modules"), join(packageDir, "node_modules"), "dir");
    writeFileSync(
      join(work, "package.tsconfig.json"),
      JSON.stringify({
        extends: join(root, "tsconfig.json"),
        compilerOptions: {
          rootDir: root,
          outDir: join(packageDir, "dist"),
          sourceMap: false,
          noEmit: false,
          types: ["node"],
          typeRoots: [join(root, "node_modules", "@types")],
        },
        files: [join(root, "client", "index.ts")],
        include: [],
      }),
    );
    await run(process.execPath, [tsc, "-p", join(work, "package.tsconfig.json")]);

    writeFileSync(join(work, "package.json"), JSON.stringify({ type: "module" }));
    writeFileSync(join(work, "app.ts"), APP);
    writeFileSync(
      join(work, "tsconfig.json"),
      JSON.stringify({
        compilerOptions: {
          target: "ES2023",
          module: "NodeNext",
          moduleResolution: "NodeNext",
          strict: true,
          skipLibCheck: true,
          types: ["node"],
          typeRoots: [join(root, "node_modules", "@types")],
          outDir: "out",
        },
        files: ["app.ts"],
      }),
    );

    const sidecar = await buildServer({
      store: new InMemoryStore(),
      config: { logLevel: "silent" },
      logger: false,
    });
    app = sidecar;
    url = await sidecar.listen({ port: 0, host: "127.0.0.1" });
  }, 180_000);

  afterAll(async () => {
    await app?.close();
    rmSync(work, { recursive: true, force: true });
  });

  it("depends only on core/: compiling the client reaches no other folder", () => {
    expect(readdirSync(join(packageDir, "dist")).sort()).toEqual(["client", "core"]);
  });

  it("type-checks an app against the declarations `exports` points at, and the app talks to a sidecar", async () => {
    await run(process.execPath, [tsc, "-p", join(work, "tsconfig.json")], { cwd: work });
    const { stdout } = await run(process.execPath, [join(work, "out", "app.js"), url], { cwd: work });
    const result = JSON.parse(stdout) as { sent: string; received: string; refused: string };
    expect(result.received).toBe(result.sent);
    expect(result.refused).toBe("INVALID_MESSAGE");
  });

  it("keeps everything else private: a deep import is refused by `exports`", async () => {
    const attempt = run(
      process.execPath,
      ["--input-type=module", "-e", 'await import("beast-mode-network/dist/client/http.js")'],
      { cwd: work },
    );
    await expect(attempt).rejects.toThrow(/ERR_PACKAGE_PATH_NOT_EXPORTED/);
  });
});
