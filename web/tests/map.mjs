// The seat map at stadium size, in headless Chromium against the synthetic
// event (tests/synthetic.mjs; no backend needed): what a person sees and can
// do with 50,000 seats, and that the page never holds more seats than it can
// redraw at once. In scripts/test; timings are in tests/bench-map.mjs.
// With SCREENSHOTS=<dir> it also saves the stadium's map as PNGs there.
import { mkdirSync } from "node:fs";
import { serve, layout } from "./synthetic.mjs";
import { launch, frame, ok, axe, checks } from "./browser.mjs";

// The map's SEAT_LIMIT (src/SeatMap.tsx): seats drawn at most at once.
const LIMIT = 5000;
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });
const shot = async (page, name) => shots && (await page.locator(".seatmap").screenshot({ path: `${shots}/${name}.png` }));
const seatsDrawn = (page) => page.evaluate(() => document.querySelectorAll("[data-seat-id]").length);
const active = (page) =>
  page.evaluate(() => ({
    seat: document.activeElement?.getAttribute("data-seat-id") ?? null,
    section: document.activeElement?.getAttribute("data-section-id") ?? null,
    name: document.activeElement?.getAttribute("aria-label") ?? "",
  }));
const waitFocus = (page, id) =>
  page.waitForFunction((id) => document.activeElement?.getAttribute("data-seat-id") === id, id, { timeout: 10000, polling: 20 });

const site = await serve();
const browser = await launch();
try {
  // The Harbor Arena's size is drawn whole, seat by seat.
  site.state.layout = layout(3, 35, 40);
  let page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${site.base}/events/bench`);
  await page.locator('[data-seat-id="S2-35-40"]').waitFor({ state: "attached" });
  ok((await seatsDrawn(page)) === 4200, "a 4,200-seat venue: every seat drawn on the whole map");
  await page.close();

  // A stadium: 50 sections of 1,000 seats.
  site.state.layout = layout(50, 25, 40);
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${site.base}/events/bench`);
  await page.locator('[data-section-id="S49"]').waitFor({ state: "attached" });
  ok((await page.locator("[data-section-id]").count()) === 50, "50,000 seats: the whole map shows the 50 sections");
  ok((await seatsDrawn(page)) === 0, "…and no seat elements until a section is opened");
  ok(
    (await page.locator('[data-section-id="S0"]').getAttribute("aria-label")) ===
      "Section 1: 1000 of 1000 seats available, 50.00 USD; opens the section's seats",
    "a section's block says its name, what is left and its price",
  );
  await axe(page, "the stadium's whole map");
  await shot(page, "stadium-sections");

  // Keyboard only: Tab reaches the first section, Enter opens it.
  await page.getByRole("button", { name: "Whole map" }).focus();
  await page.keyboard.press("Tab");
  const tabbed = await active(page);
  ok(tabbed.section === "S0", `Tab from the zoom buttons reaches the first section${tabbed.section === "S0" ? "" : ` (not ${JSON.stringify(tabbed)})`}`);
  await page.keyboard.press("Enter");
  await waitFocus(page, "S0-1-1");
  const first = await active(page);
  ok(first.name === "Section 1, row 1, seat 1, 50.00 USD, available", `Enter opens the section on its first seat, named (${first.name})`);
  const drawn = await seatsDrawn(page);
  ok(drawn > 0 && drawn <= LIMIT, `an open section draws its seats and not the stadium's (${drawn} seats in the page)`);
  await page.keyboard.press("ArrowRight");
  await waitFocus(page, "S0-1-2");
  await page.keyboard.press("Space");
  await page.locator('[data-seat-id="S0-1-2"][aria-checked="true"]').waitFor({ state: "attached", timeout: 5000 });
  ok(true, "arrow keys move along the row and Space selects the seat");
  await axe(page, "an open section");
  await shot(page, "stadium-section-open");

  // Down through the section's 25 rows and over its edge: the map follows
  // into the next section, which it draws.
  for (let i = 1; i < 25; i++) await page.keyboard.press("ArrowDown");
  await waitFocus(page, "S0-25-2");
  await page.keyboard.press("ArrowDown");
  await waitFocus(page, "S1-1-1");
  ok((await seatsDrawn(page)) <= LIMIT, "down past the last row the focus and the map move to the next section's first seat");
  // Further, a whole line of sections away (section 11 sits below section 1).
  for (let s = 1; s < 10; s++) {
    for (let i = 0; i < 25; i++) await page.keyboard.press("ArrowDown");
  }
  await waitFocus(page, "S10-1-1");
  const far = await page.locator('[data-seat-id="S10-1-1"]').boundingBox();
  const map = await page.locator(".seatmap svg").boundingBox();
  ok(
    far && map && far.x >= map.x && far.x <= map.x + map.width && far.y >= map.y && far.y <= map.y + map.height,
    "ten sections on, the focused seat is on screen",
  );
  ok((await seatsDrawn(page)) <= LIMIT, `never more than ${LIMIT} seats in the page`);

  // Seats others book turn grey on the next poll, and the sections' counts drop.
  site.state.greyed = 1;
  await page.locator('[data-seat-id="S10-1-1"][data-status="booked"]').waitFor({ state: "attached", timeout: 12000 });
  ok(true, "a seat someone else booked turns grey while the page is open");
  await page.getByRole("button", { name: "Whole map" }).click();
  await page.locator('[data-section-id="S0"]').waitFor({ state: "attached" });
  ok(
    (await page.locator('[data-section-id="S0"]').getAttribute("data-available")) === "990",
    "back on the whole map, a section's count shows the seats taken",
  );
  ok(
    (await page.locator('[data-section-id="S0"]').getAttribute("aria-label")).startsWith("Section 1: 990 of 1000 seats available"),
    "…and so does its accessible name",
  );

  // The pointer: a click on a section opens it; the wheel zooms back out.
  await page.locator('[data-section-id="S33"]').click();
  await page.locator('[data-seat-id="S33-1-1"]').waitFor({ state: "attached" });
  ok((await seatsDrawn(page)) <= LIMIT, "a click on a section opens its seats");
  await page.locator('[data-seat-id="S33-1-3"]').click();
  await page.locator('[data-seat-id="S33-1-3"][aria-checked="true"]').waitFor({ state: "attached", timeout: 5000 });
  ok(true, "a click on a seat selects it");
  const box = await page.locator(".seatmap svg").boundingBox();
  await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
  for (let i = 0; i < 20; i++) await page.mouse.wheel(0, 200);
  await frame(page);
  await page.locator("[data-section-id]").first().waitFor({ state: "attached" });
  ok((await seatsDrawn(page)) === 0, "zooming out with the wheel returns to the sections");
  await page.close();

  // One section bigger than the map ever draws (60,000 seats in 300 rows):
  // it opens on its first rows, and the keys walk deep into it.
  site.state.layout = layout(1, 300, 200);
  page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  await page.goto(`${site.base}/events/bench`);
  await page.locator('[data-section-id="S0"]').click();
  await waitFocus(page, "S0-1-1");
  ok((await seatsDrawn(page)) <= LIMIT, "a 60,000-seat section opens on its first rows");
  for (let i = 0; i < 150; i++) await page.keyboard.press("ArrowDown");
  for (let i = 0; i < 120; i++) await page.keyboard.press("ArrowRight");
  await waitFocus(page, "S0-151-121");
  await frame(page);
  const deep = await page.locator('[data-seat-id="S0-151-121"]').boundingBox();
  const view = await page.locator(".seatmap svg").boundingBox();
  ok(
    deep.x >= view.x && deep.x <= view.x + view.width && deep.y >= view.y && deep.y <= view.y + view.height &&
      (await seatsDrawn(page)) <= LIMIT,
    "…and row 151, seat 121 is reached by keyboard, on screen, the map still within its limit",
  );
  await page.close();

  // Phone width: the blocks still fit and open.
  site.state.layout = layout(50, 25, 40);
  page = await browser.newPage({ viewport: { width: 390, height: 800 } });
  await page.goto(`${site.base}/events/bench`);
  await page.locator('[data-section-id="S49"]').waitFor({ state: "attached" });
  await page.locator('[data-section-id="S45"]').click();
  await page.locator('[data-seat-id="S45-1-1"]').waitFor({ state: "attached" });
  ok((await seatsDrawn(page)) <= LIMIT, "at phone width a section opens from the whole map");
  await page.close();
} finally {
  await browser.close();
  site.close();
}
console.log(`seat map at stadium size: ${checks()} checks passed`);
