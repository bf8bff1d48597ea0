import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { stripTypeScriptTypes } from "node:module";
import { fileURLToPath } from "node:url";

/** Front-end libraries, served from their own installed package files (no CDN, no bundler). */
const VENDOR: Record<string, { specifier: string; type: string }> = {
  "preact.mjs": { specifier: "preact", type: "text/javascript" },
  "preact-hooks.mjs": { specifier: "preact/hooks", type: "text/javascript" },
  "htm.mjs": { specifier: "htm", type: "text/javascript" },
  "uplot.mjs": { specifier: "uplot/dist/uPlot.esm.js", type: "text/javascript" },
  "uplot.css": { specifier: "uplot/dist/uPlot.min.css", type: "text/css" },
};

/**
 * Modules of core/ the page imports too, so a list such as the dead-letter reasons exists once. Served at the path
 * a page module's relative import resolves to (`../../core/x.js` from /ui/ is /core/x.js); each of them imports
 * nothing, so it runs in a browser as is.
 */
const SHARED_CORE = ["dead-letter.ts"];

/** Bare module names the page's modules import, mapped to the files above. */
const IMPORT_MAP = JSON.stringify({
  imports: {
    preact: "/assets/preact.mjs",
    "preact/hooks": "/assets/preact-hooks.mjs",
    htm: "/assets/htm.mjs",
    uplot: "/assets/uplot.mjs",
  },
});

/** Node's own type stripping, without its one-time "experimental" warning on the console's output. */
function stripTypes(source: string): string {
  const emitWarning = process.emitWarning.bind(process);
  process.emitWarning = () => undefined;
  try {
    return stripTypeScriptTypes(source, { mode: "strip" });
  } finally {
    process.emitWarning = emitWarning;
  }
}

/**
 * A shared core module's source: the `.ts` beside the sources, or, in a compiled `dist/` (the image), the `.js`
 * that tsc made of it (already plain JavaScript; its source-map comment is dropped).
 */
function readSharedCore(coreDir: URL, name: string): string {
  const source = new URL(name, coreDir);
  if (existsSync(source)) return readFileSync(source, "utf8");
  const compiled = readFileSync(new URL(name.replace(/\.ts$/, ".js"), coreDir), "utf8");
  return compiled.replace(/^\/\/# sourceMappingURL=.*$/m, "");
}

export interface Asset {
  type: string;
  body: Buffer;
}

/**
 * Everything the console's pages load, read once at start: the UI modules of console/ui (TypeScript with its
 * types stripped by Node itself, so there is no build step), its stylesheet, and the vendor files.
 */
export class ConsoleAssets {
  readonly files = new Map<string, Asset>();
  /** The CSP hash of the one inline script, the import map. */
  readonly importMapHash = createHash("sha256").update(IMPORT_MAP).digest("base64");

  constructor(
    uiDir: URL = new URL("./ui/", import.meta.url),
    coreDir: URL = new URL("../core/", import.meta.url),
  ) {
    for (const name of SHARED_CORE) {
      this.files.set(`/core/${name.replace(/\.ts$/, ".js")}`, {
        type: "text/javascript",
        body: Buffer.from(stripTypes(readSharedCore(coreDir, name))),
      });
    }
    for (const [name, { specifier, type }] of Object.entries(VENDOR)) {
      this.files.set(`/assets/${name}`, {
        type,
        body: readFileSync(fileURLToPath(import.meta.resolve(specifier))),
      });
    }
    for (const name of readdirSync(uiDir)) {
      const text = readFileSync(new URL(name, uiDir), "utf8");
      if (name.endsWith(".ts") && !name.endsWith(".d.ts")) {
        this.files.set(`/ui/${name.replace(/\.ts$/, ".js")}`, {
          type: "text/javascript",
          body: Buffer.from(stripTypes(text)),
        });
      } else if (name.endsWith(".css")) {
        this.files.set(`/ui/${name}`, { type: "text/css", body: Buffer.from(text) });
      }
    }
  }

  /** The page: one per process, because it carries the CSRF token that mutating calls must echo. */
  indexHtml(csrfToken: string, traceUrl = ""): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="bmn-csrf" content="${csrfToken}">
<meta name="bmn-trace-url" content="${traceUrl}">
<title>BMN console</title>
<link rel="stylesheet" href="/assets/uplot.css">
<link rel="stylesheet" href="/ui/console.css">
<script type="importmap">${IMPORT_MAP}</script>
<script type="module" src="/ui/app.js"></script>
</head>
<body>
<div id="app"><p class="loading">Loading the console…</p></div>
</body>
</html>
`;
  }

  loginHtml(failed: boolean): string {
    return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Sign in · BMN console</title>
<link rel="stylesheet" href="/ui/console.css">
</head>
<body>
<main class="login">
<h1>BMN console</h1>
${failed ? '<p role="alert" class="error">That token is not this console\'s.</p>' : ""}
<form method="post" action="/login">
<label for="token">Console token</label>
<input id="token" name="token" type="password" autocomplete="current-password" required>
<button type="submit">Sign in</button>
</form>
</main>
</body>
</html>
`;
  }
}
