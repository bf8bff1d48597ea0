/**
 * The field reference of each kind in docs/operator.md, rendered from the generated CRD schemas (so from the zod
 * schemas' `.describe()`): one row per field with its type, default and description, between
 * `<!-- fields:Kind -->` and `<!-- /fields:Kind -->` markers. Pure, so `npm run generate` writes it and a unit
 * test checks that the doc is not stale.
 */
import { format, resolveConfig } from "prettier";
import type { JSONSchemaProps } from "./crd-schema.js";
import { buildCrd, KINDS } from "./crds.js";

export const FIELD_DOCS_PATH = "docs/operator.md";

function typeOf(node: JSONSchemaProps): string {
  if (node["x-kubernetes-int-or-string"] === true) return "int or string";
  if (node.enum !== undefined) return node.enum.map((value) => String(value)).join(" | ");
  if (node.type === "array") return `[]${node.items === undefined ? "" : typeOf(node.items)}`;
  if (node.type === "object" && node.properties === undefined) return "map";
  return node.type ?? "any";
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

function rows(node: JSONSchemaProps, path: string, out: string[]): void {
  const required = new Set(node.required ?? []);
  for (const [name, child] of Object.entries(node.properties ?? {})) {
    const field = `${path}.${name}`;
    const fallback =
      child.default === undefined ? (required.has(name) ? "required" : "") : JSON.stringify(child.default);
    out.push(
      `| \`${field}\` | ${cell(typeOf(child))} | ${cell(fallback)} | ${cell(child.description ?? "")} |`,
    );
    const items = child.items;
    if (child.properties !== undefined) rows(child, field, out);
    else if (items?.properties !== undefined) rows(items, `${field}[]`, out);
  }
}

/** The markdown table of one kind's spec and status fields. */
export function renderFieldTable(kind: string): string {
  const definition = KINDS.find((candidate) => candidate.kind === kind);
  if (definition === undefined) throw new Error(`no kind ${kind}`);
  const root = buildCrd(definition).spec.versions[0]?.schema.openAPIV3Schema;
  const out = ["| Field | Type | Default | Description |", "| --- | --- | --- | --- |"];
  for (const part of ["spec", "status"] as const) {
    const node = root?.properties?.[part];
    if (node !== undefined) rows(node, part, out);
  }
  return out.join("\n");
}

/**
 * `doc` (the file at `path`) with every `<!-- fields:Kind -->` block replaced by the current table and formatted
 * as Prettier (what `npm run lint` checks) would; throws when a marker is missing.
 */
export async function renderFieldDocs(doc: string, path: string): Promise<string> {
  let result = doc;
  for (const { kind } of KINDS) {
    const block = new RegExp(`(<!-- fields:${kind} -->\\n)[\\s\\S]*?(<!-- /fields:${kind} -->)`);
    if (!block.test(result)) throw new Error(`${FIELD_DOCS_PATH} has no <!-- fields:${kind} --> block`);
    result = result.replace(
      block,
      (_match, start: string, end: string) => `${start}${renderFieldTable(kind)}\n${end}`,
    );
  }
  return await format(result, { ...(await resolveConfig(path)), filepath: path });
}
