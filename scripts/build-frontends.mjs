// Builds the browser front ends with esbuild (`npm run build`, run by `make install`).
// The widget: widget/src/widget.ts -> widget/static/dist/widget.js (the bundle, socket.io-client
// included) and widget/src/loader.ts -> widget/static/dist/loader.js (the tiny embed loader).
// The loader asks for widget.js?v=<content hash>, so the bundle can be cached for a year.
// The operator console: operators_ui/src/main.tsx (Preact, TSX) -> operators_ui/static/dist/app.js,
// served at / by operators_ui/web.py as /console/app.js?v=<content hash>.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const out = join(root, "widget", "static", "dist");
mkdirSync(out, { recursive: true });

const common = {
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2019"],
  legalComments: "none",
  logLevel: "warning",
};

await esbuild.build({
  ...common,
  entryPoints: [join(root, "widget", "src", "widget.ts")],
  outfile: join(out, "widget.js"),
});
const version = createHash("sha256")
  .update(readFileSync(join(out, "widget.js")))
  .digest("hex")
  .slice(0, 12);
await esbuild.build({
  ...common,
  entryPoints: [join(root, "widget", "src", "loader.ts")],
  outfile: join(out, "loader.js"),
  define: { __BUNDLE_VERSION__: JSON.stringify(version) },
});
// Pre-compressed copies: the hub's file responses send them to clients that accept gzip.
for (const name of ["widget.js", "loader.js"]) {
  writeFileSync(join(out, `${name}.gz`), gzipSync(readFileSync(join(out, name)), { level: 9 }));
}
writeFileSync(join(out, "manifest.json"), JSON.stringify({ widget: version }) + "\n");
console.log(`widget bundle ${version} built into widget/static/dist`);

// --- the operator console ---
const consoleOut = join(root, "operators_ui", "static", "dist");
mkdirSync(consoleOut, { recursive: true });
await esbuild.build({
  ...common,
  entryPoints: [join(root, "operators_ui", "src", "main.tsx")],
  outfile: join(consoleOut, "app.js"),
  jsx: "automatic",
  jsxImportSource: "preact",
});
const consoleVersion = createHash("sha256")
  .update(readFileSync(join(consoleOut, "app.js")))
  .digest("hex")
  .slice(0, 12);
writeFileSync(join(consoleOut, "app.js.gz"), gzipSync(readFileSync(join(consoleOut, "app.js")), { level: 9 }));
writeFileSync(join(consoleOut, "manifest.json"), JSON.stringify({ console: consoleVersion }) + "\n");
console.log(`console bundle ${consoleVersion} built into operators_ui/static/dist`);
