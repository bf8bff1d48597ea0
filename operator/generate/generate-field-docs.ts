// Rewrites the field tables of docs/operator.md from the CRD schemas (`npm run generate`).
import { readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { FIELD_DOCS_PATH, renderFieldDocs } from "./field-docs.js";

const path = join(dirname(fileURLToPath(import.meta.url)), "..", "..", FIELD_DOCS_PATH);
writeFileSync(path, await renderFieldDocs(readFileSync(path, "utf8"), path));
console.log(`wrote the field tables of ${FIELD_DOCS_PATH}`);
