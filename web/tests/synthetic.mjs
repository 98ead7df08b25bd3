// A synthetic event for the seat-map test and bench: the web app's real
// build served beside made-up API answers for one published event
// ("bench") whose venue is a grid of sections, so the map can be driven at
// stadium size without a backend. Used by tests/map.mjs (in scripts/test)
// and tests/bench-map.mjs (in scripts/bench).
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";

const dist = new URL("../dist/", import.meta.url).pathname;

/** A venue of `sections` sections of `rows` × `perRow` seats, ten sections
 * to a line, in reading order. */
export function layout(sections, rows, perRow) {
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

/** Serves the build and the event; `state.layout` and `state.greyed` (the
 * seats booked out of every hundred) can change between page loads. */
export async function serve() {
  if (!existsSync(`${dist}index.html`)) throw new Error("build first: node build.mjs");
  const state = { layout: layout(1, 1, 1), greyed: 0 };
  const server = createServer((req, res) => {
    const url = new URL(req.url, "http://x");
    const json = (body) => {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const current = state.layout;
    const total = current.sections.reduce((n, s) => n + s.capacity, 0);
    if (url.pathname === "/api/v1/events/bench") {
      return json({
        id: "bench", name: "Bench Night", description: "", starts_at: "2030-01-01T19:00:00Z", ends_at: "2030-01-01T22:00:00Z",
        status: "published", currency: "USD", venue: current.venue, price_range: { min: "50.00", max: "50.00" },
        total_seats: total, available_seats: total, sold_out: false,
        cancellation_policy: { allowed: true, deadline_hours: 0, fee_type: "none", fee_value: "0.00" },
      });
    }
    if (url.pathname === "/api/v1/events/bench/venue-layout") return json(current);
    if (url.pathname === "/api/v1/events/bench/seats/available") {
      const status = (s) => s.seats.map((_, i) => (i % 100 < state.greyed ? "b" : "a")).join("");
      return json({
        event_id: "bench", sold_out: false,
        total_available: current.sections.reduce((n, s) => n + [...status(s)].filter((c) => c === "a").length, 0),
        sections: current.sections.map((s) => ({ id: s.id, name: s.name, price: s.price, available: s.capacity, seat_status: status(s) })),
      });
    }
    if (url.pathname.startsWith("/api/")) {
      res.writeHead(404, { "content-type": "application/problem+json" });
      return res.end(JSON.stringify({ status: 404, title: "Not Found", detail: "not in the synthetic event" }));
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
  return { base: `http://127.0.0.1:${server.address().port}`, state, close: () => server.close() };
}
