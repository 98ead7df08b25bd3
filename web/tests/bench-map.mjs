// How the seat map behaves at 4,200 and at 50,000 seats, in headless
// Chromium: time to draw every seat, a zoom step, a status refresh that
// greys 1 % of the seats, and a keyboard step. The web app's real build
// is served with a synthetic event (no backend: the API answers below are
// made here). Prints the timings; asserts nothing (scripts/bench, and
// docs/benchmarks.md for what one run gave).
// Usage: node tests/bench-map.mjs   (after node build.mjs)
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { chromium } from "playwright-core";

const dist = new URL("../dist/", import.meta.url).pathname;
if (!existsSync(`${dist}index.html`)) throw new Error("build first: node build.mjs");

/** A venue of `sections` sections of `rows` × `perRow` seats. */
function layout(sections, rows, perRow) {
  const out = [];
  for (let s = 0; s < sections; s++) {
    const id = `S${s}`;
    const ox = (s % 10) * (perRow + 3) * 10;
    const oy = Math.floor(s / 10) * (rows + 3) * 10;
    const seats = [];
    for (let r = 1; r <= rows; r++)
      for (let n = 1; n <= perRow; n++)
        seats.push({ id: `${id}-${r}-${n}`, row: r, number: n, x: ox + (n - 1) * 10, y: oy + (r - 1) * 10, price: "50.00" });
    out.push({ id, name: `Section ${s + 1}`, price: "50.00", capacity: seats.length, seats });
  }
  return { event_id: "bench", venue: { id: "v", name: "Bench Stadium", city: "Here" }, sections: out };
}

let current = null;
let greyed = 0;
const server = createServer((req, res) => {
  const url = new URL(req.url, "http://x");
  const json = (body) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (url.pathname === "/api/v1/events/bench") {
    const total = current.sections.reduce((n, s) => n + s.capacity, 0);
    return json({
      id: "bench", name: "Bench Night", description: "", starts_at: "2030-01-01T19:00:00Z", ends_at: "2030-01-01T22:00:00Z",
      status: "published", currency: "USD", venue: current.venue, price_range: { min: "50.00", max: "50.00" },
      total_seats: total, available_seats: total, sold_out: false,
      cancellation_policy: { allowed: true, deadline_hours: 0, fee_type: "none", fee_value: "0.00" },
    });
  }
  if (url.pathname === "/api/v1/events/bench/venue-layout") return json(current);
  if (url.pathname === "/api/v1/events/bench/seats/available") {
    return json({
      event_id: "bench", sold_out: false, total_available: 0,
      sections: current.sections.map((s) => ({
        id: s.id, name: s.name, price: s.price, available: s.capacity,
        seat_status: s.seats.map((_, i) => (i % 100 < greyed ? "b" : "a")).join(""),
      })),
    });
  }
  const path = url.pathname.includes(".") ? url.pathname : "/index.html";
  const file = `${dist}${path.replace(/^\/+/, "").replace(/\.\./g, "")}`;
  if (!existsSync(file)) {
    res.writeHead(404);
    return res.end();
  }
  const type = file.endsWith(".js") ? "text/javascript" : file.endsWith(".css") ? "text/css" : "text/html";
  res.writeHead(200, { "content-type": type });
  res.end(readFileSync(file));
});
await new Promise((r) => server.listen(0, "127.0.0.1", r));
const base = `http://127.0.0.1:${server.address().port}`;

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const frame = (page) => page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r()))));
const results = [];
try {
  for (const [name, sections, rows, perRow] of [
    ["4,200 seats", 3, 35, 40],
    ["50,000 seats", 50, 25, 40],
  ]) {
    current = layout(sections, rows, perRow);
    greyed = 0;
    const total = sections * rows * perRow;
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    const t0 = Date.now();
    await page.goto(`${base}/events/bench`);
    await page.locator("[data-seat-id]").nth(total - 1).waitFor({ state: "attached", timeout: 120000 });
    await frame(page);
    const drawn = Date.now() - t0;
    // A zoom step: click to the next painted frame, five times.
    const zooms = [];
    for (let i = 0; i < 5; i++) {
      const z0 = Date.now();
      await page.getByRole("button", { name: "Zoom in" }).click();
      await frame(page);
      zooms.push(Date.now() - z0);
    }
    // A refresh that greys 1 % of the seats (the 5-second poll).
    greyed = 1;
    const r0 = Date.now();
    await page.waitForFunction(
      (n) => document.querySelectorAll('[data-status="booked"]').length >= n,
      Math.floor(total / 100),
      { timeout: 60000, polling: 50 },
    );
    const refreshed = Date.now() - r0;
    // A keyboard step between seats.
    await page.locator("[data-seat-id]").nth(1).focus();
    const k0 = Date.now();
    await page.keyboard.press("ArrowRight");
    await frame(page);
    const key = Date.now() - k0;
    const median = zooms.sort((a, b) => a - b)[2];
    results.push({ name, seats: total, drawn_ms: drawn, zoom_ms: median, refresh_ms: refreshed, key_ms: key });
    await page.close();
  }
} finally {
  await browser.close();
  server.close();
}
for (const r of results)
  console.log(
    `${r.name}: drawn in ${r.drawn_ms} ms, a zoom step ${r.zoom_ms} ms (median of 5), a refresh greying 1 % ${r.refresh_ms} ms (includes up to one 5-s poll), a keyboard step ${r.key_ms} ms`,
  );
if (results.length === 2) {
  const [a, b] = results;
  console.log(
    `ratios 50,000 : 4,200 — drawing ${(b.drawn_ms / a.drawn_ms).toFixed(1)}×, zoom ${(b.zoom_ms / Math.max(1, a.zoom_ms)).toFixed(1)}×, keyboard ${(b.key_ms / Math.max(1, a.key_ms)).toFixed(1)}× (seats 11.9×)`,
  );
}
