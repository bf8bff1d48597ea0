import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { FIELD_DOCS_PATH, renderFieldDocs, renderFieldTable } from "../../operator/generate/field-docs.js";

const path = join(dirname(fileURLToPath(import.meta.url)), "..", "..", FIELD_DOCS_PATH);

describe("the field reference in docs/operator.md", () => {
  it("is up to date with the CRD schemas (run `npm run generate` when this fails)", async () => {
    const doc = readFileSync(path, "utf8");
    expect(await renderFieldDocs(doc, path), "stale: run npm run generate").toBe(doc);
  });

  it("lists nested, list and status fields with their type, default and description", () => {
    const gateway = renderFieldTable("Gateway");
    expect(gateway).toContain("| `spec.tls.requireClientCert` | boolean | false | mTLS: refuse peers");
    expect(gateway).toContain("| `spec.peers[].tls.clientCertSecretName` | string |  |");
    expect(gateway).toContain("| `status.peers[].state` | up \\| down \\| unknown |");
    expect(renderFieldTable("MessageDomain")).toContain(
      '| `spec.store.type` | memory \\| redis \\| sql \\| tidb | "memory" |',
    );
  });
});
