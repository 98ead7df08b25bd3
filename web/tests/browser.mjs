// What the browser tests share: Debian's Chromium started headless with
// nothing reaching out of the machine, the next painted frame, a check that
// prints what it proved, and axe-core over the page.
import { readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const axeSource = readFileSync(new URL("../node_modules/axe-core/axe.min.js", import.meta.url), "utf8");
let passed = 0;

/** Debian's Chromium, headless, with nothing reaching out of the machine. */
export function launch() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
}

/** Resolves after the next painted frame. */
export const frame = (page) =>
  page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));

/** Fails the run unless `cond`; prints `what` when it holds. */
export function ok(cond, what) {
  if (!cond) throw new Error(`failed: ${what}`);
  passed++;
  console.log(`  ok - ${what}`);
}

/** How many checks passed so far. */
export const checks = () => passed;

/** No serious or critical axe-core violation on the page as it is now. */
export async function axe(page, name) {
  await page.addScriptTag({ content: axeSource });
  const bad = await page.evaluate(async () => {
    // eslint-disable-next-line no-undef
    const r = await axe.run(document, { resultTypes: ["violations"] });
    return r.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.length }));
  });
  ok(bad.length === 0, `axe: no serious or critical violations on ${name}${bad.length ? ` ${JSON.stringify(bad)}` : ""}`);
}
