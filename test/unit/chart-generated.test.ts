import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml } from "yaml";
import { chartValuesSchema } from "../../core/chart-values.js";
import { CHART_DIR, renderChartFiles } from "../../operator/generate/chart-files.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const valuesYaml = (): unknown => parseYaml(readFileSync(join(root, CHART_DIR, "values.yaml"), "utf8"));

describe("the Helm chart's generated files", () => {
  it.each(renderChartFiles(root).map((file) => [file.path, file.text] as const))(
    "%s is up to date (run `npm run generate` when this fails)",
    (path, text) => {
      expect(readFileSync(join(root, path), "utf8"), `${path} is stale: run npm run generate`).toBe(text);
    },
  );

  it("values.yaml is valid and equals the schema's defaults, so the schema documents what ships", () => {
    const values = chartValuesSchema.parse(valuesYaml());
    expect(values).toEqual(chartValuesSchema.parse({}));
  });

  it.each([
    [{ replicaCount: "two" }, "replicaCount"],
    [{ rbac: { secretNamespaces: ["Not_A_Namespace"] } }, "rbac.secretNamespaces.0"],
    [{ operator: { watchNamespace: "UPPER" } }, "operator.watchNamespace"],
    [{ operator: { leaderElection: { renewDeadlineSeconds: 20 } } }, "operator.leaderElection"],
    [{ unknownKey: true }, ""],
  ])("refuses %j naming %s", (values, path) => {
    const result = chartValuesSchema.safeParse(values);
    expect(result.success).toBe(false);
    expect(result.error?.issues.map((issue) => issue.path.join("."))).toContain(path);
  });
});
