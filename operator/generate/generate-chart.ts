// Writes the chart's generated files (values.schema.json, templates/crd-*.yaml) under charts/ (`npm run generate`).
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHART_DIR, isGeneratedCrdTemplate, renderChartFiles } from "./chart-files.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const files = renderChartFiles(root);
const templates = join(root, CHART_DIR, "templates");
// A CRD that no longer exists in crds/ must not linger in the chart; nor may the old crds/ directory, which
// Helm would install beside the templates.
const wanted = new Set(files.map(({ path }) => join(root, path)));
for (const existing of readdirSync(templates))
  if (isGeneratedCrdTemplate(existing) && !wanted.has(join(templates, existing)))
    rmSync(join(templates, existing));
rmSync(join(root, CHART_DIR, "crds"), { recursive: true, force: true });
for (const { path, text } of files) writeFileSync(join(root, path), text);
console.log(`wrote ${files.length} chart files: ${files.map(({ path }) => path).join(", ")}`);
