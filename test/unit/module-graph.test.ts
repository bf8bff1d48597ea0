import { readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/**
 * What loading `entry` loads: the repo files and the packages reached through static imports. Type-only imports
 * and exports are erased by the compiler; dynamic `import()` is what a command does only when it runs, so neither
 * is followed.
 */
function staticGraph(entry: string): { files: Set<string>; packages: Set<string> } {
  const files = new Set<string>();
  const packages = new Set<string>();
  const pending = [resolve(root, entry)];
  const statement = /^\s*(import|export)\s+(type\s+)?([^;]*?\s+from\s+)?["']([^"']+)["']/gm;
  for (let file = pending.pop(); file !== undefined; file = pending.pop()) {
    if (files.has(file)) continue;
    files.add(file);
    const source = readFileSync(file, "utf8");
    for (const match of source.matchAll(statement)) {
      const [, keyword, typeOnly, clause, specifier] = match;
      if (specifier === undefined || typeOnly !== undefined) continue;
      // `export { a } from` re-exports load the module; `export const x = "..."` is not a statement we match.
      if (keyword === "export" && clause === undefined) continue;
      if (specifier.startsWith(".")) pending.push(resolve(dirname(file), specifier.replace(/\.js$/, ".ts")));
      else if (!specifier.startsWith("node:")) packages.add(packageName(specifier));
    }
  }
  return { files: new Set([...files].map((file) => relative(root, file))), packages };
}

function packageName(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

const under = (files: Set<string>, folder: string): string[] =>
  [...files].filter((file) => file.startsWith(join(folder, "/")));

describe("what each command loads", () => {
  it("bmn send and the other client commands load no server, store or Kubernetes code", () => {
    // cli/bmn.ts answers --version alone and imports the program dynamically; the program is what send loads.
    expect([...staticGraph("cli/bmn.ts").files].sort()).toEqual(["cli/bmn.ts", "cli/version.ts"]);
    const { files, packages } = staticGraph("cli/program.ts");
    for (const folder of ["sidecar", "gateway", "operator", "store", "console", "bridge"])
      expect(under(files, folder)).toEqual([]);
    for (const heavy of [
      "@kubernetes/client-node",
      "fastify",
      "ioredis",
      "mysql2",
      "prom-client",
      "pino",
      "yaml",
      // The API's zod schemas cost ~100 ms of start-up; a command that checks an answer imports them itself.
      "zod",
      "amqplib",
      "@platformatic/kafka",
    ])
      expect(packages).not.toContain(heavy);
    expect([...packages].filter((name) => name.startsWith("@opentelemetry/"))).toEqual([]);
  });

  it("bmn start loads the sidecar and the memory store, but no other backend, gateway or Kubernetes client", () => {
    const { files, packages } = staticGraph("sidecar/start-sidecar.ts");
    expect(files).toContain("sidecar/server/build-server.ts");
    expect(files).toContain("store/memory/memory-store.ts");
    for (const folder of ["gateway", "operator", "cli", "store/redis", "store/sql"])
      expect(under(files, folder)).toEqual([]);
    for (const unused of [
      "@kubernetes/client-node",
      "ioredis",
      "mysql2",
      "cluster-key-slot",
      // The OTel SDK and exporter load only when spans are recorded (runtime/observability/tracer-provider.ts).
      "@opentelemetry/sdk-trace-base",
      "@opentelemetry/resources",
      "@opentelemetry/exporter-trace-otlp-http",
    ])
      expect(packages).not.toContain(unused);
  });

  it("bmn console loads no store, sidecar, gateway or Kubernetes code: it only speaks the sidecar's HTTP API", () => {
    const { files, packages } = staticGraph("console/start-console.ts");
    expect(files).toContain("console/sidecar-forwarder.ts");
    for (const folder of ["store", "sidecar", "gateway", "operator", "cli"])
      expect(under(files, folder)).toEqual([]);
    for (const unused of ["@kubernetes/client-node", "ioredis", "mysql2", "prom-client"])
      expect(packages).not.toContain(unused);
  });

  it("the graph follows static imports and skips type-only ones", () => {
    const { files } = staticGraph("cli/commands/start.ts");
    expect(files).toContain("cli/close-on-signal.ts");
    // `import type` of the sidecar and `await import()` of the config loader are not followed.
    expect(under(files, "sidecar")).toEqual([]);
    expect(under(files, "runtime/config")).toEqual([]);
  });
});
