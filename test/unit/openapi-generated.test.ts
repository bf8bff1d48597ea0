import { readFileSync } from "node:fs";
import { validate } from "@readme/openapi-parser";
import { describe, expect, it } from "vitest";
import { OPENAPI_PATH, renderOpenApi } from "../../core/api/generate-openapi.js";
import { openApiPath } from "../../core/api/openapi.js";
import { sidecarApi } from "../../core/api/sidecar-api.js";

describe("docs/openapi.json", () => {
  it("is what `npm run generate:openapi` writes from core/api (regenerate it after changing a schema)", () => {
    expect(readFileSync(OPENAPI_PATH, "utf8")).toBe(renderOpenApi());
  });

  it("is a valid OpenAPI 3.1 document", async () => {
    const document = JSON.parse(renderOpenApi()) as Parameters<typeof validate>[0];
    const result = await validate(document);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });

  it("lists every route of the contract, with an error answer for each", () => {
    const document = JSON.parse(renderOpenApi()) as {
      paths: Record<string, Record<string, { responses: Record<string, unknown> }>>;
    };
    for (const route of Object.values(sidecarApi)) {
      const operation = document.paths[openApiPath(route.url)]?.[route.method.toLowerCase()];
      expect(operation, `${route.method} ${route.url}`).toBeDefined();
      expect(Object.keys(operation?.responses ?? {})).toContain("default");
    }
  });
});
