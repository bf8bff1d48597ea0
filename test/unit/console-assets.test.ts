import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { afterEach, describe, expect, it } from "vitest";
import { ConsoleAssets } from "../../console/console-assets.js";
import { DEAD_LETTER_REASONS } from "../../core/dead-letter.js";

const UI_DIR = new URL("../../console/ui/", import.meta.url);
const CORE_DIR = new URL("../../core/", import.meta.url);

describe("the console's assets", () => {
  let dir: string | undefined;
  afterEach(() => {
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  });

  it("serves a shared core module from its TypeScript source, types stripped", async () => {
    const assets = new ConsoleAssets(UI_DIR, CORE_DIR);
    const body = assets.files.get("/core/dead-letter.js")?.body.toString("utf8") ?? "";
    expect(body).not.toContain("as const");
    expect(body).not.toMatch(/value is DeadLetterReason/);
    // What the browser gets runs as JavaScript and exports the same reasons.
    const loaded = (await import(`data:text/javascript,${encodeURIComponent(body)}`)) as {
      DEAD_LETTER_REASONS: readonly string[];
    };
    expect(loaded.DEAD_LETTER_REASONS).toEqual([...DEAD_LETTER_REASONS]);
  });

  it("serves tsc's output when the core folder is compiled (dist/, the image): no .ts beside it", () => {
    dir = mkdtempSync(join(tmpdir(), "bmn-console-assets-"));
    const compiled = 'export const DEAD_LETTER_REASONS = ["expired"];\n';
    writeFileSync(join(dir, "dead-letter.js"), `${compiled}//# sourceMappingURL=dead-letter.js.map\n`);
    const assets = new ConsoleAssets(UI_DIR, pathToFileURL(`${dir}/`));
    const served = assets.files.get("/core/dead-letter.js")?.body.toString("utf8") ?? "";
    expect(served).toContain(compiled.trim());
    // The map is not served: the page would ask for it in vain.
    expect(served).not.toContain("sourceMappingURL");
  });

  it("serves every UI module as JavaScript and the vendor libraries from their packages", () => {
    const assets = new ConsoleAssets(UI_DIR, CORE_DIR);
    expect(assets.files.get("/ui/app.js")?.type).toBe("text/javascript");
    expect(assets.files.has("/assets/preact.mjs")).toBe(true);
    expect(assets.files.has("/assets/uplot.css")).toBe(true);
  });
});
