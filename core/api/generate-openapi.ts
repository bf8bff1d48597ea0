import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { API_VERSION } from "./version.js";
import { sidecarOpenApiDocument } from "./openapi.js";

/** The committed document; test/unit/openapi-generated.test.ts fails when it is stale. */
export const OPENAPI_PATH = fileURLToPath(new URL("../../docs/openapi.json", import.meta.url));

export function renderOpenApi(): string {
  return `${JSON.stringify(sidecarOpenApiDocument(API_VERSION), null, 2)}\n`;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  writeFileSync(OPENAPI_PATH, renderOpenApi());
  console.log(`wrote ${OPENAPI_PATH}`);
}
