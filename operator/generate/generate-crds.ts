// Writes crds/<group>_<plural>.yaml from the zod schemas in core/crds/ (`npm run generate`).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { renderCrdFiles } from "./crds.js";

const outDir = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "crds");
mkdirSync(outDir, { recursive: true });
const files = renderCrdFiles();
const wanted = new Set(files.map(({ file }) => file));
// A kind that no longer exists leaves no stale CRD behind.
for (const existing of readdirSync(outDir))
  if (existing.endsWith(".yaml") && !wanted.has(existing)) rmSync(join(outDir, existing));
for (const { file, text } of files) writeFileSync(join(outDir, file), text);
console.log(`wrote ${files.length} CRDs to crds/: ${[...wanted].join(", ")}`);
