import { z } from "zod";
import { errorBodySchema } from "./common.js";
import { sidecarApi, type ApiRoute } from "./sidecar-api.js";

type JsonObject = Record<string, unknown>;

const COMPONENTS = "#/components/schemas/";

/** `/v1/agents/:agent` → `/v1/agents/{agent}`; fastify's `::` is a literal colon. */
export function openApiPath(url: string): string {
  return url
    .split("::")
    .map((part) => part.replace(/:([A-Za-z0-9_]+)/g, "{$1}"))
    .join(":");
}

/** Collects named schemas (`.meta({id})`) into `components.schemas`, so each is written once. */
class Components {
  readonly schemas: Record<string, JsonObject> = {};

  /** The JSON Schema of `schema` as the API reads it (`input`) or writes it (`output`), with shared parts as $refs. */
  add(schema: z.ZodType, io: "input" | "output"): JsonObject {
    const suffix = io === "input" ? "Input" : "";
    const json = z.toJSONSchema(schema, {
      io,
      target: "draft-2020-12",
      unrepresentable: "any",
    }) as JsonObject;
    // zod puts named parts in the local `#/$defs`; they go to the document's components instead.
    const relinked = JSON.parse(
      JSON.stringify(json).replace(/"#\/\$defs\/([A-Za-z0-9_]+)"/g, `"${COMPONENTS}$1${suffix}"`),
    ) as JsonObject;
    const { $schema: _dialect, $defs, ...rest } = relinked;
    for (const [id, definition] of Object.entries(($defs ?? {}) as Record<string, JsonObject>)) {
      this.schemas[`${id}${suffix}`] = definition;
    }
    return rest;
  }

  /** Input variants identical to their output variant are dropped and referenced by the output name. */
  finish(document: JsonObject): JsonObject {
    let text = JSON.stringify(document);
    const kept: Record<string, JsonObject> = {};
    for (const [name, schema] of Object.entries(this.schemas).sort(([a], [b]) => a.localeCompare(b))) {
      const output = name.endsWith("Input") ? name.slice(0, -"Input".length) : undefined;
      const twin = output === undefined ? undefined : this.schemas[output];
      if (output !== undefined && twin !== undefined && JSON.stringify(twin) === JSON.stringify(schema)) {
        text = text.replaceAll(`"${COMPONENTS}${name}"`, `"${COMPONENTS}${output}"`);
      } else {
        kept[name] = schema;
      }
    }
    return { ...(JSON.parse(text) as JsonObject), components: { schemas: kept } };
  }
}

function parameters(components: Components, route: ApiRoute): JsonObject[] {
  const list: JsonObject[] = [];
  for (const [where, schema] of [
    ["path", route.params],
    ["query", route.querystring],
  ] as const) {
    if (schema === undefined) continue;
    const json = components.add(schema, "input");
    const properties = (json.properties ?? {}) as Record<string, JsonObject>;
    const required = new Set((json.required ?? []) as string[]);
    if (json.additionalProperties !== undefined && json.additionalProperties !== false) {
      // A free-form query (analytics): one parameter object holding every key.
      list.push({ name: "params", in: where, style: "form", explode: true, schema: json });
      continue;
    }
    for (const [name, property] of Object.entries(properties)) {
      list.push({ name, in: where, required: where === "path" || required.has(name), schema: property });
    }
  }
  return list;
}

function operation(components: Components, id: string, route: ApiRoute): JsonObject {
  const responses: Record<string, JsonObject> = {};
  for (const [status, schema] of Object.entries(route.responses)) {
    const json = components.add(schema, "output");
    responses[status] =
      json.type === "null"
        ? { description: "no body" }
        : { description: "success", content: { "application/json": { schema: json } } };
  }
  if (route.produces !== undefined) {
    responses["200"] = {
      description: "success",
      content: { [route.produces]: { schema: { type: "string" } } },
    };
  } else if (Object.keys(responses).length === 0) {
    responses["200"] = {
      description: "success",
      content: { "application/json": { schema: { type: "object" } } },
    };
  }
  responses.default = {
    description: "an error: `errorCode` is stable, `field` names the offending input",
    content: { "application/json": { schema: components.add(errorBodySchema, "output") } },
  };
  const body = route.body ?? route.documentedBody;
  return {
    operationId: id,
    summary: route.summary,
    tags: [route.tag],
    ...(route.params === undefined && route.querystring === undefined
      ? {}
      : { parameters: parameters(components, route) }),
    ...(body === undefined
      ? {}
      : {
          requestBody: {
            required: route.body !== undefined,
            content: { "application/json": { schema: components.add(body, "input") } },
          },
        }),
    responses,
  };
}

/** The OpenAPI 3.1 document of the sidecar's HTTP API, built from the same schemas the routes validate with. */
export function sidecarOpenApiDocument(version: string): JsonObject {
  const components = new Components();
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const [id, route] of Object.entries(sidecarApi) as [string, ApiRoute][]) {
    const path = openApiPath(route.url);
    paths[path] ??= {};
    paths[path][route.method.toLowerCase()] = operation(components, id, route);
  }
  return components.finish({
    openapi: "3.1.0",
    info: {
      title: "Beast Mode Network sidecar API",
      version,
      description: "The agent API of a BMN sidecar. Every error answers `{errorCode, message, field?}`.",
      license: { name: "Apache-2.0", identifier: "Apache-2.0" },
    },
    servers: [{ url: "http://127.0.0.1:7420" }],
    paths,
  });
}
