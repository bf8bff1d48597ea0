import type { z } from "zod";
import { toJSONSchema } from "zod";

/** A node of a Kubernetes structural OpenAPI v3 schema (the subset this project emits). */
export interface JSONSchemaProps {
  type?: "object" | "array" | "string" | "integer" | "number" | "boolean";
  description?: string;
  format?: string;
  enum?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: boolean;
  exclusiveMaximum?: boolean;
  minLength?: number;
  maxLength?: number;
  pattern?: string;
  minItems?: number;
  maxItems?: number;
  items?: JSONSchemaProps;
  properties?: Record<string, JSONSchemaProps>;
  additionalProperties?: JSONSchemaProps;
  required?: string[];
  anyOf?: JSONSchemaProps[];
  nullable?: boolean;
  "x-kubernetes-preserve-unknown-fields"?: true;
  "x-kubernetes-int-or-string"?: true;
  "x-kubernetes-list-type"?: "atomic" | "set" | "map";
  "x-kubernetes-list-map-keys"?: string[];
  "x-kubernetes-validations"?: { rule: string; message?: string; fieldPath?: string; reason?: string }[];
}

/** Raised when a zod schema uses something a structural schema cannot express. */
export class CrdSchemaError extends Error {
  override name = "CrdSchemaError";
}

type Json = Record<string, unknown>;

/** Keys a structural schema may carry; anything else from the JSON Schema output is an error. */
const ALLOWED_KEYS = new Set<string>([
  "type",
  "description",
  "format",
  "enum",
  "default",
  "minimum",
  "maximum",
  "exclusiveMinimum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "items",
  "properties",
  "additionalProperties",
  "required",
  "anyOf",
  "nullable",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-int-or-string",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "x-kubernetes-validations",
]);

/** zod's bounds for `.int()` without explicit limits: noise in a CRD. */
const SAFE_INTEGER_BOUND = Number.MAX_SAFE_INTEGER;

/** The order keys are written in, so the generated YAML reads top-down; unknown keys keep zod's order. */
const KEY_ORDER = [
  "description",
  "type",
  "format",
  "x-kubernetes-int-or-string",
  "anyOf",
  "enum",
  "default",
  "minimum",
  "exclusiveMinimum",
  "maximum",
  "exclusiveMaximum",
  "minLength",
  "maxLength",
  "pattern",
  "minItems",
  "maxItems",
  "x-kubernetes-list-type",
  "x-kubernetes-list-map-keys",
  "items",
  "properties",
  "additionalProperties",
  "required",
  "x-kubernetes-preserve-unknown-fields",
  "x-kubernetes-validations",
];

/**
 * Converts a zod schema into a Kubernetes structural schema: the zod input shape (fields with defaults are
 * optional and carry `default`), OpenAPI 3.0 flavoured, without `$schema`, `additionalProperties: false`,
 * refs or unions other than int-or-string. Cross-field rules travel as `x-kubernetes-validations` metadata
 * on the zod schema, so zod and the apiserver enforce the same rule.
 */
export function toStructuralSchema(schema: z.ZodType): JSONSchemaProps {
  const raw = toJSONSchema(schema, {
    io: "input",
    target: "openapi-3.0",
    unrepresentable: "throw",
    reused: "inline",
    cycles: "throw",
  }) as Json;
  delete raw.$schema;
  delete raw.$id;
  if ("$defs" in raw || "definitions" in raw) throw new CrdSchemaError("schema uses $defs; inline it");
  return structural(raw, "");
}

function structural(node: Json, path: string): JSONSchemaProps {
  const out: Json = { ...node };
  const where = path === "" ? "<root>" : path;
  for (const key of ["$ref", "oneOf", "allOf", "not", "const", "$defs", "id"]) {
    if (key in out && key !== "const")
      throw new CrdSchemaError(`${where}: ${key} is not allowed in a CRD schema`);
  }
  if ("const" in out) {
    out.enum = [out.const];
    delete out.const;
  }
  if (out.additionalProperties === false) delete out.additionalProperties;
  if (out["x-kubernetes-preserve-unknown-fields"] === true) {
    delete out.additionalProperties;
    out.type ??= "object";
  }
  if (out.maximum === SAFE_INTEGER_BOUND) delete out.maximum;
  if (out.minimum === -SAFE_INTEGER_BOUND) delete out.minimum;
  // A date-time's pattern duplicates the format, and RE2 need not accept zod's version of it.
  if (out.format === "date-time") delete out.pattern;

  if (Array.isArray(out.anyOf)) intOrString(out, where);

  for (const key of Object.keys(out)) {
    if (!ALLOWED_KEYS.has(key)) throw new CrdSchemaError(`${where}: ${key} is not supported in a CRD schema`);
  }
  if (
    out.type === undefined &&
    out["x-kubernetes-int-or-string"] !== true &&
    out["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    throw new CrdSchemaError(`${where}: every node needs a type (z.unknown()/z.any() are not structural)`);
  }

  if (isJson(out.properties)) {
    const properties: Record<string, JSONSchemaProps> = {};
    for (const [name, child] of Object.entries(out.properties)) {
      if (!isJson(child)) throw new CrdSchemaError(`${where}.${name}: not a schema`);
      // `kubectl explain` shows it: every field says what it is (zod `.describe()`).
      if (typeof child.description !== "string" || child.description === "")
        throw new CrdSchemaError(`${path}.${name}: no description (add .describe() to the zod schema)`);
      properties[name] = structural(child, `${path}.${name}`);
    }
    out.properties = properties;
    if (out.additionalProperties !== undefined)
      throw new CrdSchemaError(`${where}: additionalProperties together with properties is not structural`);
  }
  if (isJson(out.items)) out.items = structural(out.items, `${path}[]`);
  else if (out.items !== undefined) throw new CrdSchemaError(`${where}: items must be one schema`);
  if (isJson(out.additionalProperties))
    out.additionalProperties = structural(out.additionalProperties, `${path}.*`);
  else if (out.additionalProperties !== undefined)
    throw new CrdSchemaError(`${where}: additionalProperties must be a schema`);
  return ordered(out);
}

/** `z.union([z.number().int(), z.string()])` becomes an int-or-string node, as Kubernetes quantities are. */
function intOrString(out: Json, where: string): void {
  const branches = out.anyOf as unknown[];
  const types = branches.map((branch) => (isJson(branch) ? branch.type : undefined));
  if (branches.length !== 2 || !types.includes("integer") || !types.includes("string"))
    throw new CrdSchemaError(
      `${where}: only an integer-or-string union is allowed (got ${JSON.stringify(types)})`,
    );
  const text = branches.find((branch) => isJson(branch) && branch.type === "string") as Json;
  out.anyOf = [{ type: "integer" }, { type: "string" }];
  out["x-kubernetes-int-or-string"] = true;
  if (typeof text.pattern === "string") out.pattern = text.pattern;
  if (typeof text.maxLength === "number") out.maxLength = text.maxLength;
}

function ordered(node: Json): Json {
  const result: Json = {};
  for (const key of KEY_ORDER) if (key in node) result[key] = node[key];
  for (const [key, value] of Object.entries(node)) if (!(key in result)) result[key] = value;
  return result;
}

function isJson(value: unknown): value is Json {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
