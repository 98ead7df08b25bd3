// Parses every ```mermaid block of the Markdown files given, with the same
// parser GitHub renders them with, so a broken diagram fails the tests
// instead of showing up as an error box in the docs.
// Usage: node scripts/lib/check-mermaid.mjs docs/*.md  (NODE_PATH: mermaid, jsdom)
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(process.env.MERMAID_MODULES + '/');
const { JSDOM } = require('jsdom');
const dom = new JSDOM('<!doctype html><html><body></body></html>');
globalThis.window = dom.window;
globalThis.document = dom.window.document;
globalThis.DOMParser = dom.window.DOMParser;
globalThis.Element = dom.window.Element;
const mermaid = (await import(require.resolve('mermaid'))).default;
mermaid.initialize({ startOnLoad: false });

let diagrams = 0;
let broken = 0;
for (const file of process.argv.slice(2)) {
  const text = fs.readFileSync(file, 'utf8');
  for (const [i, m] of [...text.matchAll(/```mermaid\n([\s\S]*?)```/g)].entries()) {
    diagrams++;
    try {
      await mermaid.parse(m[1]);
    } catch (e) {
      broken++;
      console.error(`${file}, diagram ${i + 1}: ${String(e.message || e).split('\n').slice(0, 3).join(' ')}`);
    }
  }
}
console.log(`mermaid: ${diagrams - broken} of ${diagrams} diagrams parse`);
process.exit(broken ? 1 : 0);
