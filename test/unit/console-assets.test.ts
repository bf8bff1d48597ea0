import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { ConsoleAssets } from "../../console/console-assets.js";

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe("the console's assets", () => {
  it("serve the shared core module from a compiled dist too (the image has dead-letter.js, not .ts)", () => {
    const dist = mkdtempSync(join(tmpdir(), "bmn-dist-core-"));
    dirs.push(dist);
    writeFileSync(
      join(dist, "dead-letter.js"),
      'export const REASONS = ["max-attempts"];\n//# sourceMappingURL=dead-letter.js.map\n',
    );
    const assets = new ConsoleAssets(undefined, pathToFileURL(`${dist}/`));
    const served = assets.files.get("/core/dead-letter.js")?.body.toString("utf8") ?? "";
    expect(served).toContain('export const REASONS = ["max-attempts"];');
    expect(served).not.toContain("sourceMappingURL");
    // From the sources, the .ts is served with its types stripped.
    const fromSources = new ConsoleAssets().files.get("/core/dead-letter.js")?.body.toString("utf8") ?? "";
    expect(fromSources).toMatch(/export /);
  });
});
