#!/usr/bin/env node
// The `bmn` executable. In a checkout it runs the TypeScript source through tsx, so there is no build step and
// never a stale build; an installed package ships no sources and runs its compiled output, which starts fast.
import { existsSync } from "node:fs";
import { URL } from "node:url";

if (existsSync(new URL("../bmn.ts", import.meta.url))) {
  const { register } = await import("tsx/esm/api");
  register();
  await import("../bmn.ts");
} else {
  await import("../../dist/cli/bmn.js");
}
