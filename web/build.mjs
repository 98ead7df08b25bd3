// Builds the web app into dist/: one minified ES module bundle (Preact,
// JSX compiled by esbuild), the stylesheet and index.html. Fails when the
// JavaScript grows past its budget (150 KB gzipped, issue 13).
import { build } from "esbuild";
import { cpSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const BUDGET_GZIP_BYTES = 150 * 1024;
const started = Date.now();
const here = new URL(".", import.meta.url).pathname;
rmSync(`${here}dist`, { recursive: true, force: true });
mkdirSync(`${here}dist`, { recursive: true });
await build({
  entryPoints: [`${here}src/main.tsx`],
  bundle: true,
  minify: true,
  format: "esm",
  target: "es2020",
  jsx: "automatic",
  jsxImportSource: "preact",
  outfile: `${here}dist/app.js`,
  logLevel: "warning",
  legalComments: "none",
});
cpSync(`${here}public`, `${here}dist`, { recursive: true });
const js = readFileSync(`${here}dist/app.js`);
const gz = gzipSync(js).length;
writeFileSync(
  `${here}dist/build.json`,
  JSON.stringify({ js_bytes: js.length, js_gzip_bytes: gz, built_ms: Date.now() - started }) + "\n",
);
console.log(`web/dist: app.js ${js.length} B, ${gz} B gzipped, built in ${Date.now() - started} ms`);
if (gz > BUDGET_GZIP_BYTES) {
  console.error(`app.js is ${gz} B gzipped: over the ${BUDGET_GZIP_BYTES} B budget`);
  process.exit(1);
}
