import { fileURLToPath } from "node:url";
import { BMN } from "../../test/harness/bmn-process.js";

/**
 * The `bmn` every suite starts: `npm run bench` runs the benchmark compiled into dist/ (tsconfig.bench.json), so
 * sidecars and gateways run the compiled dist/cli/bmn.js as `npm start` and the image do, without tsx. Run from
 * source (through tsx), it falls back to cli/bin/bmn.js.
 */
export const BENCH_BMN = import.meta.url.endsWith(".ts")
  ? BMN
  : fileURLToPath(new URL("../../cli/bmn.js", import.meta.url));

/** How the servers under test run, for the report. */
export const BENCH_BMN_LABEL = import.meta.url.endsWith(".ts")
  ? "cli/bin/bmn.js through the tsx loader"
  : "compiled dist/cli/bmn.js (no tsx)";
