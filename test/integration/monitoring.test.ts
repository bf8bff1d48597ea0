import { execFile } from "node:child_process";
import { accessSync, constants, readdirSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { controlPlaneBinaries } from "../harness/kube-control-plane.js";

/**
 * The chart's monitoring: the alert rules pass the real `promtool check rules` and `promtool test rules` (built by
 * test/tools/promtool/build.sh), every alert has a unit test that fires it and one that does not, and a runbook in
 * docs/alerts.md; `helm template` renders the ServiceMonitor, PodMonitors, PrometheusRule and dashboard ConfigMaps
 * only when asked, and every metric they use is one BMN exports.
 */
const root = fileURLToPath(new URL("../../", import.meta.url));
const CHART = join(root, "charts/beast-mode-network");
const RULES = join(CHART, "files/prometheus-rules.yaml");
const RULE_TESTS = join(root, "test/monitoring/prometheus-rules.test.yaml");
const DASHBOARDS = join(CHART, "files/dashboards");

function promtool(): string {
  const goMod = readFileSync(join(root, "test/tools/promtool/go.mod"), "utf8");
  const version = /github\.com\/prometheus\/prometheus v(\S+)/.exec(goMod)?.[1] ?? "unknown";
  const binary = join(
    process.env.BMN_TOOLS_CACHE ?? join(homedir(), ".cache", "bmn-tools"),
    `promtool-${version}`,
    "promtool",
  );
  try {
    accessSync(binary, constants.X_OK);
  } catch {
    throw new Error(`no promtool at ${binary}: run bash test/tools/promtool/build.sh`);
  }
  return binary;
}

function run(binary: string, args: readonly string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(binary, args, { cwd: root, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({
        code: error === null ? 0 : typeof error.code === "number" ? error.code : 1,
        output: stdout + stderr,
      });
    });
  });
}

interface RuleFile {
  groups: { name: string; rules: { alert?: string; expr: string; annotations?: Record<string, string> }[] }[];
}
interface RuleTests {
  tests: { alert_rule_test?: { alertname: string; exp_alerts: unknown[] }[] }[];
}

const rules = parseYaml(readFileSync(RULES, "utf8")) as RuleFile;
const alerts = rules.groups.flatMap((group) => group.rules).filter((rule) => rule.alert !== undefined);

async function helmTemplate(
  sets: readonly string[],
): Promise<{ kind: string; metadata: { name: string }; spec?: unknown; data?: Record<string, string> }[]> {
  const helm = controlPlaneBinaries()?.helm;
  if (helm === undefined) throw new Error("no helm: run bash test/tools/k8s/build.sh");
  const result = await run(helm, [
    "template",
    "t",
    CHART,
    "--kube-version",
    "1.34.0",
    ...sets.flatMap((set) => ["--set", set]),
  ]);
  expect(result.code, result.output).toBe(0);
  return parseAllDocuments(result.output)
    .map((document) => document.toJS() as { kind: string; metadata: { name: string } } | null)
    .filter((object) => object !== null);
}

describe("the chart's monitoring", () => {
  it("the alert rules pass promtool check rules", async () => {
    const result = await run(promtool(), ["check", "rules", RULES]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain(`SUCCESS: ${alerts.length} rules found`);
  });

  it("every alert has promtool unit tests, and they pass", async () => {
    const tests = (parseYaml(readFileSync(RULE_TESTS, "utf8")) as RuleTests).tests.flatMap(
      (test) => test.alert_rule_test ?? [],
    );
    for (const { alert } of alerts) {
      const cases = tests.filter((test) => test.alertname === alert);
      expect(
        cases.some((test) => test.exp_alerts.length > 0),
        `${alert ?? ""} fires in a test`,
      ).toBe(true);
      expect(
        cases.some((test) => test.exp_alerts.length === 0),
        `${alert ?? ""} stays quiet in a test`,
      ).toBe(true);
    }
    const result = await run(promtool(), ["test", "rules", RULE_TESTS]);
    expect(result.code, result.output).toBe(0);
    expect(result.output).toContain("SUCCESS");
  });

  it("every alert has a runbook in docs/alerts.md, and links to it", () => {
    const runbooks = readFileSync(join(root, "docs/alerts.md"), "utf8");
    expect(alerts.length).toBeGreaterThanOrEqual(7);
    for (const { alert, annotations } of alerts) {
      expect(runbooks).toContain(`## ${alert ?? ""}\n`);
      expect(annotations?.runbook_url).toMatch(
        new RegExp(`docs/alerts\\.md#${(alert ?? "").toLowerCase()}$`),
      );
    }
  });

  it("helm renders the monitors, the rule and the dashboards only when enabled", async () => {
    const kinds = (objects: { kind: string }[]): string[] => objects.map((object) => object.kind);
    const plain = kinds(await helmTemplate([]));
    for (const kind of ["ServiceMonitor", "PodMonitor", "PrometheusRule"]) expect(plain).not.toContain(kind);

    const objects = await helmTemplate([
      "serviceMonitor.enabled=true",
      "prometheusRule.enabled=true",
      "grafanaDashboards.enabled=true",
    ]);
    expect(kinds(objects).filter((kind) => kind === "PodMonitor")).toHaveLength(2);
    expect(kinds(objects)).toContain("ServiceMonitor");
    const rule = objects.find((object) => object.kind === "PrometheusRule");
    expect(rule?.spec).toEqual(rules);
    const files = readdirSync(DASHBOARDS).filter((file) => file.endsWith(".json"));
    expect(files.length).toBeGreaterThan(0);
    for (const file of files) {
      const map = objects.find((object) => object.kind === "ConfigMap" && object.data?.[file] !== undefined);
      expect(map, file).toBeDefined();
      const dashboard = JSON.parse(map?.data?.[file] ?? "") as { uid?: unknown; panels?: unknown };
      expect(typeof dashboard.uid).toBe("string");
      expect(Array.isArray(dashboard.panels)).toBe(true);
    }
  });

  it("the rules and dashboards use only metrics BMN exports", () => {
    const sources = [
      "sidecar/sidecar-metrics.ts",
      "gateway/gateway-metrics.ts",
      "operator/operator-server.ts",
    ]
      .map((file) => readFileSync(join(root, file), "utf8"))
      .join("\n");
    const exported = new Set([...sources.matchAll(/"(bmn_[a-z_]+)"/g)].map((match) => match[1]));
    const used = [
      readFileSync(RULES, "utf8"),
      ...readdirSync(DASHBOARDS).map((file) => readFileSync(join(DASHBOARDS, file), "utf8")),
    ]
      .flatMap((text) => [...text.matchAll(/\b(bmn_[a-z_]+)/g)].map((match) => match[1] ?? ""))
      .map((name) => name.replace(/_(bucket|count|sum)$/, ""));
    for (const name of new Set(used)) expect(exported, name).toContain(name);
  });
});
