// How the seat map behaves at 4,200 and at 50,000 seats, in headless
// Chromium: time until the map is drawn, zoom steps, opening a section from
// the whole map, a status refresh that greys 1 % of the seats, and keyboard
// steps (within a row, and across a section's edge, where the map follows
// the focus). The web app's real build is served with a synthetic event
// (tests/synthetic.mjs). Prints the timings; asserts nothing (scripts/bench,
// and docs/benchmarks.md for what one run gave).
// Usage: node tests/bench-map.mjs   (after node build.mjs)
import { serve, layout } from "./synthetic.mjs";
import { launch, frame } from "./browser.mjs";

const site = await serve();
const browser = await launch();
const results = [];
const seatsDrawn = (page) => page.evaluate(() => document.querySelectorAll("[data-seat-id]").length);
/** Milliseconds from calling `act` to the next painted frame after `until`. */
async function timed(page, act, until) {
  const t0 = Date.now();
  await act();
  if (until) await until();
  await frame(page);
  return Date.now() - t0;
}
const waitFocus = (page, id) =>
  page.waitForFunction((id) => document.activeElement?.getAttribute("data-seat-id") === id, id, { timeout: 60000, polling: 10 });

try {
  for (const [name, sections, rows, perRow] of [
    ["4,200 seats", 3, 35, 40],
    ["50,000 seats", 50, 25, 40],
  ]) {
    site.state.layout = layout(sections, rows, perRow);
    site.state.greyed = 0;
    const total = sections * rows * perRow;
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const r = { name, seats: total };
    r.drawn_ms = await timed(
      page,
      () => page.goto(`${site.base}/events/bench`),
      () =>
        page.waitForFunction(
          ([total, sections]) =>
            document.querySelectorAll("[data-seat-id]").length === total ||
            document.querySelectorAll("[data-section-id]").length === sections,
          [total, sections],
          { timeout: 120000, polling: 20 },
        ),
    );
    r.whole_map_seats = await seatsDrawn(page);
    // Five zoom steps in from the whole map (a stadium crosses from its
    // sections to their seats on the way).
    const zooms = [];
    // Clicked from inside the page: Playwright's own click first waits two
    // frames for the button to be still, which would floor every step.
    const zoomIn = () => page.evaluate(() => document.querySelector('button[aria-label="Zoom in"]').click());
    for (let i = 0; i < 5; i++) zooms.push(await timed(page, zoomIn));
    r.zoom_median_ms = [...zooms].sort((a, b) => a - b)[2];
    r.zoom_max_ms = Math.max(...zooms);
    r.zoomed_seats = await seatsDrawn(page);
    // A refresh that greys 1 % of the seats (the 5-second poll).
    site.state.greyed = 1;
    r.refresh_ms = await timed(page, async () => {}, async () => {
      const drawn = await seatsDrawn(page);
      await page.waitForFunction(
        (n) => document.querySelectorAll('[data-status="booked"]').length >= n,
        Math.max(1, Math.floor(drawn / 100)),
        { timeout: 60000, polling: 50 },
      );
    });
    // Opening a section from the whole map (only a stadium draws blocks).
    await page.getByRole("button", { name: "Whole map" }).click();
    await frame(page);
    const block = page.locator('[data-section-id="S12"]');
    if ((await block.count()) > 0) {
      const open = () =>
        page.evaluate(() =>
          document.querySelector('[data-section-id="S12"]').dispatchEvent(new MouseEvent("click", { bubbles: true })),
        );
      r.open_section_ms = await timed(page, open, () => waitFocus(page, "S12-1-1"));
    } else {
      await page.locator('[data-seat-id="S1-1-1"]').focus();
    }
    // Keyboard steps: along a row, then down off the section's last row
    // into the next section.
    const from = page.locator("[data-seat-id]:focus");
    const at = await from.getAttribute("data-seat-id");
    const [sec, , n] = at.split("-");
    r.key_ms = await timed(page, () => page.keyboard.press("ArrowRight"), () => waitFocus(page, `${sec}-1-${Number(n) + 1}`));
    await page.locator(`[data-seat-id="${sec}-1-${Number(n) + 1}"]`).focus();
    for (let i = 1; i < rows; i++) await page.keyboard.press("ArrowDown");
    const next = `S${Number(sec.slice(1)) + 1}-1-1`;
    r.key_across_ms = await timed(page, () => page.keyboard.press("ArrowDown"), () => waitFocus(page, next));
    r.max_seats_drawn = Math.max(r.whole_map_seats, r.zoomed_seats, await seatsDrawn(page));
    results.push(r);
    await page.close();
  }
} finally {
  await browser.close();
  site.close();
}
for (const r of results) {
  console.log(
    `${r.name}: drawn in ${r.drawn_ms} ms (${r.whole_map_seats} seat elements on the whole map); ` +
      `a zoom step ${r.zoom_median_ms} ms median of 5, ${r.zoom_max_ms} ms the slowest (${r.zoomed_seats} seats drawn after them); ` +
      `a refresh greying 1 % ${r.refresh_ms} ms (includes up to one 5-s poll); ` +
      (r.open_section_ms !== undefined ? `a section opened from the whole map ${r.open_section_ms} ms; ` : "") +
      `a keyboard step ${r.key_ms} ms, across a section's edge ${r.key_across_ms} ms; at most ${r.max_seats_drawn} seats in the page`,
  );
}
if (results.length === 2) {
  const [a, b] = results;
  console.log(
    `ratios 50,000 : 4,200 — drawing ${(b.drawn_ms / a.drawn_ms).toFixed(1)}×, zoom ${(b.zoom_median_ms / Math.max(1, a.zoom_median_ms)).toFixed(1)}×, ` +
      `keyboard ${(b.key_ms / Math.max(1, a.key_ms)).toFixed(1)}× (seats 11.9×)`,
  );
}
