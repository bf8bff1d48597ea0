// Writes manifests/crds.yaml and manifests/beast-mode-network.yaml from the chart (`npm run generate:manifests`);
// needs the helm that `bash test/tools/k8s/build.sh` builds.
import { writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { controlPlaneBinaries } from "../harness/kube-control-plane.js";
import { BUNDLE_CRDS_PATH, BUNDLE_PATH, renderManifestBundle } from "./manifest-bundle.js";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const binaries = controlPlaneBinaries();
if (binaries === undefined) {
  console.error("helm is not built: run bash test/tools/k8s/build.sh");
  process.exit(1);
}
const bundle = await renderManifestBundle(binaries.helm, binaries.version, root);
writeFileSync(join(root, BUNDLE_CRDS_PATH), bundle.crds);
writeFileSync(join(root, BUNDLE_PATH), bundle.operator);
console.log(`wrote ${BUNDLE_CRDS_PATH} and ${BUNDLE_PATH}`);
