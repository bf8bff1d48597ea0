// Writes the chart's generated files (values.schema.json, crds/) under charts/ (`npm run generate`).
import { mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { CHART_DIR, renderChartFiles } from "./chart-files.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const files = renderChartFiles(root);
const chartCrds = join(root, CHART_DIR, "crds");
mkdirSync(chartCrds, { recursive: true });
// A CRD that no longer exists in crds/ must not linger in the chart.
const wanted = new Set(files.map(({ path }) => join(root, path)));
for (const existing of readdirSync(chartCrds))
  if (!wanted.has(join(chartCrds, existing))) rmSync(join(chartCrds, existing));
for (const { path, text } of files) writeFileSync(join(root, path), text);
console.log(`wrote ${files.length} chart files: ${files.map(({ path }) => path).join(", ")}`);
