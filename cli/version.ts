import { readFileSync } from "node:fs";

/** The package's version, from its package.json. */
export function packageVersion(): string {
  // From source the package.json is one level up; compiled into dist/ it is two.
  for (const path of ["../package.json", "../../package.json"]) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(path, import.meta.url), "utf8")) as { version?: unknown };
      if (typeof pkg.version === "string") return pkg.version;
    } catch {
      // Not there: try the next place.
    }
  }
  return "0.0.0";
}
