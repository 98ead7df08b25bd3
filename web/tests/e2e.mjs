// The web app in headless Chromium (Debian's, driven by playwright-core),
// clicking through the seed's flows as people would, with axe-core on
// every page:
//   1. user1 picks both seats of Evently Demo Night on the map and pays;
//   2. user2 finds it sold out and joins the waitlist;
//   3. user1 cancels from "My bookings" (the refund shown first);
//   4. user2 opens the offer link from the email in /_dev/mailbox and books;
//   5. the organizer designs a venue, creates and publishes an event from
//      it, sees a sale on its dashboard, and adds and removes door staff.
// Usage: node tests/e2e.mjs <base URL of a freshly seeded stack>
// With SCREENSHOTS=<dir> it also saves the main pages as PNGs there.
import { mkdirSync, readFileSync } from "node:fs";
import { launch, ok, axe, checks } from "./browser.mjs";

const base = (process.argv[2] || process.env.EVENTLY_URL || "http://127.0.0.1:3000").replace(/\/$/, "");
const shots = process.env.SCREENSHOTS;
if (shots) mkdirSync(shots, { recursive: true });
const PASSWORD = "evently-demo";

async function shot(page, name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

async function login(page, email) {
  await page.goto(`${base}/login`);
  await page.getByLabel("Email").fill(email);
  await page.getByLabel("Password").fill(PASSWORD);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.waitForURL(`${base}/`);
}

async function mailIds() {
  const box = await (await fetch(`${base}/_dev/mailbox.json`)).json();
  return new Set(box.messages.map((m) => m.id));
}

/** The first email to `to` with this subject that is not in `seen`. */
async function mailTo(to, subjectStart, seen) {
  for (let i = 0; i < 100; i++) {
    const box = await (await fetch(`${base}/_dev/mailbox.json`)).json();
    const mail = box.messages.find(
      (m) => !seen.has(m.id) && m.to[0] === to && m.subject.startsWith(subjectStart),
    );
    if (mail) return mail;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`no email to ${to} starting "${subjectStart}"`);
}

const browser = await launch();
try {
  // Flow 1: user1 books both seats on the map.
  console.log("flow 1: user1 picks both seats of Evently Demo Night on the map and pays");
  const ctx1 = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const p1 = await ctx1.newPage();
  await p1.goto(`${base}/`);
  await p1.getByRole("heading", { name: "What's on" }).waitFor();
  await p1.getByRole("link", { name: "Evently Demo Night" }).waitFor();
  await axe(p1, "the catalog");
  await shot(p1, "catalog");
  await p1.getByLabel("Search").fill("harbor");
  await p1.getByRole("link", { name: "Evently Demo Night" }).waitFor({ state: "detached" });
  ok(await p1.getByRole("link", { name: "Harbor Lights Festival" }).isVisible(), "search narrows the catalog");
  await login(p1, "user1@example.com");
  await p1.getByRole("link", { name: "Evently Demo Night" }).click();
  await p1.getByRole("heading", { name: "Evently Demo Night" }).waitFor();
  const seat1 = p1.locator('[data-seat-id="A-1-1"]');
  await seat1.waitFor();
  ok((await seat1.getAttribute("aria-label")).includes("row 1, seat 1"), "a seat's accessible name says where it is");
  // The keyboard: focus the map's one seat stop, select, move right, select.
  await seat1.focus();
  await p1.keyboard.press("Enter");
  await p1.keyboard.press("ArrowRight");
  await p1.keyboard.press(" ");
  ok((await seat1.getAttribute("aria-checked")) === "true", "Enter selects the focused seat");
  ok((await p1.locator('[data-seat-id="A-1-2"]').getAttribute("aria-checked")) === "true", "arrow right and Space select the next seat");
  await axe(p1, "the event page");
  await shot(p1, "event-seat-map");
  await p1.getByRole("button", { name: "Hold 2 seats" }).click();
  await p1.getByRole("heading", { name: "Your seats are held" }).waitFor();
  ok(await p1.getByRole("timer").isVisible(), "the hold shows its countdown");
  await axe(p1, "the checkout");
  await shot(p1, "checkout");
  await p1.getByLabel("Visa (test, pays)").check();
  await p1.getByRole("button", { name: /^Pay 240\.00/ }).click();
  await p1.getByRole("heading", { name: "You're going" }).waitFor();
  await p1.locator("li.ticket img").nth(1).waitFor();
  ok((await p1.locator("li.ticket").count()) === 2, "the booking shows two tickets with QR codes");
  await axe(p1, "the booking");
  await shot(p1, "booking-tickets");

  // Flow 2: user2 finds it sold out and joins the waitlist.
  console.log("flow 2: user2 joins the waitlist");
  const ctx2 = await browser.newContext({ viewport: { width: 390, height: 844 } });
  const p2 = await ctx2.newPage();
  await login(p2, "user2@example.com");
  await p2.getByRole("link", { name: "Evently Demo Night" }).click();
  await p2.getByText("Sold out", { exact: true }).waitFor();
  // The map follows the seats (refreshed every 5 s from the stream-kept
  // seat maps): the booked seats turn grey without a reload.
  await p2.waitForFunction(
    () => document.querySelector('[data-seat-id="A-1-1"]')?.getAttribute("data-status") === "booked",
    null,
    { timeout: 20000 },
  );
  ok(true, "taken seats are greyed for others");
  await p2.getByLabel("Seats", { exact: true }).selectOption("2");
  await p2.getByRole("button", { name: "Join the waitlist" }).click();
  await p2.getByRole("heading", { name: "You are on the waitlist" }).waitFor();
  ok(await p2.getByText(/Position 1/).isVisible(), "user2 sees position 1 (at phone width)");
  await axe(p2, "the waitlist (phone width)");
  await shot(p2, "waitlist-phone");
  // …and on their own page, with the event it waits for.
  await p2.goto(`${base}/me`);
  const waiting = p2.locator("li[data-entry-id]", { hasText: "Evently Demo Night" });
  await waiting.getByText("number 1 in line").waitFor();
  ok(true, "my page lists the waitlist entry and its place");
  await axe(p2, "my page with a waitlist entry");

  // Flow 3: user1 cancels, the refund shown before confirming.
  console.log("flow 3: user1 cancels");
  const before = await mailIds();
  await p1.goto(`${base}/me`);
  await p1.getByRole("heading", { name: "My bookings" }).waitFor();
  await p1.getByRole("button", { name: /^Cancel booking \(refund/ }).click();
  ok(await p1.getByText(/You get back/).isVisible(), "the refund is shown before confirming");
  await axe(p1, "my bookings");
  await shot(p1, "my-bookings");
  await p1.getByRole("button", { name: /^Yes, cancel/ }).click();
  await p1.getByText("cancelled", { exact: true }).waitFor();
  ok(true, "the booking is cancelled");

  // Flow 4: user2 opens the offer email's link and books.
  console.log("flow 4: user2 books the offer from the email's link");
  const mail = await mailTo("user2@example.com", "Your seats for Evently Demo Night", before);
  const link = mail.text.match(/https?:\/\/\S+\/offers\/[0-9a-f]{32}/)?.[0];
  ok(link, "the offer email links to the web app's offer page");
  await p2.goto(link.replace(/^https?:\/\/[^/]+/, base));
  await p2.getByRole("heading", { name: /Seats held for you/ }).waitFor();
  ok(await p2.getByRole("timer").isVisible(), "the offer shows its countdown");
  await axe(p2, "the offer page");
  await shot(p2, "offer");
  await p2.getByRole("button", { name: /^Pay 240\.00/ }).click();
  await p2.getByRole("heading", { name: "You're going" }).waitFor();
  await p2.locator("li.ticket img").nth(1).waitFor();
  ok((await p2.locator("li.ticket").count()) === 2, "user2's booking has two tickets");
  await p2.goto(`${base}/me`);
  await p2.locator("li[data-entry-id]", { hasText: "Evently Demo Night" }).getByText("booked", { exact: true }).waitFor();
  ok(true, "the waitlist entry now says booked");

  // The 4,200-seat Harbor Arena's map: every seat drawn and named.
  await p2.goto(`${base}/`);
  await p2.getByRole("link", { name: "Harbor Lights Festival" }).click();
  await p2.getByRole("heading", { name: "Harbor Lights Festival" }).waitFor();
  await p2.locator("[data-seat-id]").nth(4199).waitFor({ state: "attached" });
  ok((await p2.locator("[data-seat-id]").count()) === 4200, "the Harbor Arena's map draws its 4,200 seats");
  await axe(p2, "the Harbor Arena's event page");
  await p1.goto(`${base}/`);
  await p1.getByRole("link", { name: "Harbor Lights Festival" }).click();
  await p1.locator("[data-seat-id]").nth(4199).waitFor({ state: "attached" });
  await shot(p1, "event-arena");

  // Flow 5: the organizer designs a venue, creates and publishes an event
  // from it, and sees a sale on its dashboard.
  console.log("flow 5: the organizer designs a venue, publishes an event, sees the sale");
  const ctx3 = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const p3 = await ctx3.newPage();
  await login(p3, "organizer@example.com");
  await p3.getByRole("link", { name: "Organizer" }).click();
  await p3.getByRole("heading", { name: "Organizer" }).waitFor();
  await p3.getByRole("link", { name: "Evently Demo Night" }).waitFor();
  await axe(p3, "the organizer's overview");
  await p3.getByRole("link", { name: "Design a venue" }).click();
  await p3.getByLabel("Venue name").fill("Riverside Hall");
  await p3.getByLabel("City").fill("Lisbon");
  await p3.getByLabel("Rows", { exact: true }).fill("6");
  await p3.getByLabel("Seats per row").fill("10");
  await p3.getByLabel(/^Gaps/).fill("A-1-1");
  await p3.getByRole("heading", { name: "Preview: 59 seats" }).waitFor();
  ok((await p3.locator("[data-seat-id]").count()) === 59, "the designer's live map shows 6×10 seats less the gap");
  ok((await p3.locator('[data-seat-id="A-1-1"]').count()) === 0, "a gap is not drawn");
  await axe(p3, "the venue designer");
  await shot(p3, "venue-designer");
  await p3.getByRole("button", { name: "Save the venue" }).click();
  await p3.getByRole("heading", { name: "Create an event" }).waitFor();
  await p3.getByLabel("Event name").fill("Spring Gala");
  await p3.getByLabel(/^Price in Stalls/).fill("60");
  await axe(p3, "the new event form");
  await p3.getByRole("button", { name: "Create the draft" }).click();
  await p3.getByRole("heading", { name: "Spring Gala" }).waitFor();
  ok(await p3.getByText("draft", { exact: true }).isVisible(), "the event starts as a draft");
  // The draft edited: a description and a cancellation fee, kept.
  await p3.getByLabel("Description").fill("Spring, by the river.");
  await p3.getByRole("combobox", { name: /^Fee/ }).selectOption("fixed");
  await p3.getByLabel("Fee value").fill("5");
  const [saved] = await Promise.all([
    p3.waitForResponse((r) => r.request().method() === "PATCH" && r.url().includes("/api/v1/admin/events/")),
    p3.getByRole("button", { name: "Save the draft" }).click(),
  ]);
  ok(saved.status() === 200, "the draft is saved");
  await p3.reload();
  await p3.getByRole("heading", { name: "Spring Gala" }).waitFor();
  ok(
    (await p3.getByLabel("Description").inputValue()) === "Spring, by the river." &&
      (await p3.getByRole("combobox", { name: /^Fee/ }).inputValue()) === "fixed" &&
      Number(await p3.getByLabel("Fee value").inputValue()) === 5 &&
      Number(await p3.getByLabel(/^Price in Stalls/).inputValue()) === 60,
    "the draft's edits are kept (description, a 5.00 fee), its price untouched",
  );
  await axe(p3, "the draft editor");
  await p3.getByRole("button", { name: "Publish" }).click();
  await p3.getByText("published", { exact: true }).waitFor();
  const gala = p3.url().split("/").pop();
  // Someone buys two seats of it (through the API, as the flows above do
  // through the pages).
  const call = async (method, path, token, body) => {
    const resp = await fetch(`${base}/api/v1${path}`, {
      method,
      headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    return resp.json();
  };
  const user3 = (await call("POST", "/auth/login", null, { email: "user3@example.com", password: PASSWORD })).access_token;
  const hold = await call("POST", "/seats/hold", user3, { event_id: gala, section_id: "A", seat_ids: ["A-2-1", "A-2-2"] });
  const booked = await call("POST", "/bookings/confirm", user3, { hold_id: hold.hold_id, payment_details: { card_token: "tok_visa" } });
  ok(booked.booking?.status === "confirmed", "a customer books two seats of the new event");
  // The dashboard follows the stream: reload until the sale shows.
  let sold = "";
  for (let i = 0; i < 40 && sold !== "2 of 59"; i++) {
    await p3.reload();
    const tile = p3.locator(".tile", { hasText: "Seats sold" }).locator("strong");
    await tile.waitFor();
    sold = (await tile.textContent()) ?? "";
    if (sold !== "2 of 59") await p3.waitForTimeout(250);
  }
  ok(sold === "2 of 59", "the dashboard shows the sale");
  await p3.getByText(/^Sales over time, by hour \(revenue to date 120\.00 USD\)/).waitFor();
  ok(await p3.getByText("120.00 USD · 1 booking").isVisible(), "the sales chart shows this hour's booking");
  await p3.getByText("120.00 USD").first().waitFor();
  await p3.getByRole("cell", { name: "A-2-1, A-2-2" }).waitFor();
  ok(true, "the attendee list shows the booking");
  await axe(p3, "the event dashboard");
  await shot(p3, "organizer-dashboard");

  // The CSV download has the booking.
  const [download] = await Promise.all([
    p3.waitForEvent("download"),
    p3.getByRole("button", { name: "Download all as CSV" }).click(),
  ]);
  const file = readFileSync(await download.path(), "utf8").trim().split(/\r?\n/);
  ok(
    file.length === 2 && file[0].startsWith("booking_id,") && file[1].includes(booked.booking.id) && file[1].includes("user3@example.com"),
    "the attendees' CSV download has the header and the booking",
  );
  // Many attendees, served in pages (the routes answered here, two rows a
  // page): the table shows more on request, and the CSV has every page.
  const row = (n) => ({ booking_id: `B${n}`, name: `Guest ${n}`, email: `g${n}@example.com`, seat_ids: [`A-9-${n}`], status: "confirmed", checked_in: [] });
  await p3.route("**/api/v1/admin/events/*/attendees*", (route) => {
    const url = new URL(route.request().url());
    const second = url.searchParams.get("cursor") === "page2";
    if ((route.request().headers().accept ?? "").includes("text/csv")) {
      const body = `booking_id,name,email,seat_ids,status,checked_in\r\n${second ? "B3,Guest 3,g3@example.com,A-9-3,confirmed,\r\n" : "B1,Guest 1,g1@example.com,A-9-1,confirmed,\r\nB2,Guest 2,g2@example.com,A-9-2,confirmed,\r\n"}`;
      const headers = { "content-type": "text/csv" };
      if (!second) headers.link = `<${url.pathname}?limit=1000&cursor=page2>; rel="next"`;
      return route.fulfill({ status: 200, headers, body });
    }
    return route.fulfill({
      status: 200,
      contentType: "application/json",
      body: JSON.stringify(second ? { attendees: [row(3)], next_cursor: null } : { attendees: [row(1), row(2)], next_cursor: "page2" }),
    });
  });
  await p3.reload();
  await p3.getByRole("cell", { name: "Guest 2" }).waitFor();
  ok((await p3.getByRole("cell", { name: "Guest 3" }).count()) === 0, "a long attendee list shows its first page");
  await p3.getByRole("button", { name: "Show more attendees" }).click();
  await p3.getByRole("cell", { name: "Guest 3" }).waitFor();
  ok((await p3.getByRole("button", { name: "Show more attendees" }).count()) === 0, "…the next on request, until there is no more");
  const [paged] = await Promise.all([
    p3.waitForEvent("download"),
    p3.getByRole("button", { name: "Download all as CSV" }).click(),
  ]);
  const lines = readFileSync(await paged.path(), "utf8").trim().split(/\r?\n/);
  ok(
    lines.length === 4 && lines.filter((l) => l.startsWith("booking_id,")).length === 1 && ["B1", "B2", "B3"].every((b) => lines.some((l) => l.startsWith(`${b},`))),
    "the CSV download follows every page into one file with one header",
  );
  await p3.unroute("**/api/v1/admin/events/*/attendees*");
  await p3.reload();
  await p3.getByRole("cell", { name: "A-2-1, A-2-2" }).waitFor();

  // Door staff: the organizer lets user3 scan at this event, then takes it back.
  const attendeesOf = async (token) =>
    (await fetch(`${base}/api/v1/admin/events/${gala}/attendees`, { headers: { authorization: `Bearer ${token}` } })).status;
  ok((await attendeesOf(user3)) === 403, "a customer cannot read the attendees");
  const staffEmail = p3.getByLabel("Their account's email");
  await staffEmail.fill("nobody-here@example.com");
  await p3.getByRole("button", { name: "Add to the door" }).click();
  await p3.getByRole("alert").filter({ hasText: "no account has this email" }).waitFor();
  ok(true, "adding an email with no account says so");
  await staffEmail.fill("user3@example.com");
  await p3.getByRole("button", { name: "Add to the door" }).click();
  const member = p3.getByRole("list", { name: "Door staff" }).getByRole("listitem").filter({ hasText: "(user3@example.com)" });
  await member.waitFor();
  ok((await attendeesOf(user3)) === 200, "added to the door, user3 can read the attendees");
  await member.getByRole("button", { name: /^Remove / }).click();
  await p3.getByText("Nobody yet: only you can check people in.").waitFor();
  ok((await attendeesOf(user3)) === 403, "removed, user3 cannot any more");
  await axe(p3, "the dashboard's door staff");

  // The venue template edited: one more row. The event made from it keeps
  // the seats it was made with.
  await p3.goto(`${base}/admin`);
  await p3.getByRole("link", { name: "Edit Riverside Hall" }).click();
  await p3.getByRole("heading", { name: "Edit Riverside Hall" }).waitFor();
  ok((await p3.getByLabel("Rows", { exact: true }).inputValue()) === "6" && (await p3.getByLabel(/^Gaps/).inputValue()) === "A-1-1", "the template opens in the designer as saved");
  await p3.getByRole("heading", { name: "Preview: 59 seats" }).waitFor();
  await p3.getByLabel("Rows", { exact: true }).fill("7");
  await p3.getByRole("heading", { name: "Preview: 69 seats" }).waitFor();
  await axe(p3, "the venue editor");
  await p3.getByRole("button", { name: "Save the changes" }).click();
  await p3.getByRole("heading", { name: "Organizer" }).waitFor();
  await p3.getByText(/Riverside Hall, Lisbon — 69 seats in 1 section/).waitFor();
  const galaNow = await (await fetch(`${base}/api/v1/events/${gala}`)).json();
  ok(galaNow.total_seats === 59, "the edited template has 69 seats; the event made from it still 59");

  console.log("flow 6: an on-sale with a waiting room: user1 joins the line, is let in, holds");
  // The organizer sets it up in the form: on sale in 15 seconds, 60 a minute.
  const orgToken = await p3.evaluate(() => localStorage.getItem("evently.token"));
  const { venues } = await call("GET", "/admin/venues", orgToken);
  const hall = venues.find((v) => v.name === "Riverside Hall");
  await p3.goto(`${base}/admin/events/new?venue=${hall.id}`);
  await p3.getByLabel("Event name").fill("Summer Rush");
  await p3.getByLabel(/through a waiting room/).check();
  const opens = await p3.evaluate(() => {
    const d = new Date(Date.now() + 15000);
    const pad = (n) => String(n).padStart(2, "0");
    return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
  });
  await p3.getByLabel("On sale from").fill(opens);
  await p3.getByLabel("Let in per minute").fill("60");
  await axe(p3, "the new event form with a waiting room");
  await p3.getByRole("button", { name: "Create the draft" }).click();
  await p3.getByRole("heading", { name: "Summer Rush" }).waitFor();
  ok(await p3.getByLabel(/through a waiting room/).isChecked(), "the draft keeps its waiting room");
  await p3.getByRole("button", { name: "Publish" }).click();
  await p3.getByText("published", { exact: true }).waitFor();
  const rush = { event: { id: p3.url().split("/").pop() } };
  ok(true, "an event with a waiting room is on sale");
  await p1.goto(`${base}/events/${rush.event.id}`);
  await p1.getByRole("heading", { name: "Waiting room" }).waitFor();
  ok((await p1.getByRole("button", { name: /^Hold/ }).count()) === 0, "before their turn, nobody is offered seats to hold");
  await axe(p1, "the waiting room");
  await p1.getByRole("button", { name: "Join the line" }).click();
  await p1.getByText(/You are number/).waitFor();
  ok(true, "joining the line shows the place in it");
  await shot(p1, "waiting-room");
  await p1.getByText("Your turn to choose seats ends in", { exact: false }).waitFor({ timeout: 60000 });
  ok(true, "the line moves: user1 is let in, with the time left to choose");
  await p1.locator('[data-seat-id="A-3-3"]').click();
  await p1.getByRole("button", { name: "Hold 1 seat" }).click();
  await p1.getByText(/Pay within|Your seats are held/).first().waitFor();
  ok(true, "admitted, user1 holds a seat (the hold carries the admission)");

  // user3 waits for the sold-out Demo Night, then leaves the line from
  // their own page.
  const ctx4 = await browser.newContext({ viewport: { width: 1200, height: 900 } });
  const p4 = await ctx4.newPage();
  await login(p4, "user3@example.com");
  await p4.getByRole("link", { name: "Evently Demo Night" }).click();
  await p4.getByRole("button", { name: "Join the waitlist" }).click();
  const demoId = new URL(p4.url()).pathname.split("/").pop();
  await p4.getByRole("heading", { name: "You are on the waitlist" }).waitFor();
  await p4.goto(`${base}/me`);
  const mine = p4.locator("li[data-entry-id]", { hasText: "Evently Demo Night" });
  await mine.getByRole("button", { name: "Leave the waitlist for Evently Demo Night" }).click();
  await mine.getByText("left", { exact: true }).waitFor();
  const status = await p4.evaluate(async (id) => {
    const r = await fetch(`/api/v1/waitlist/status/${id}`, { headers: { authorization: `Bearer ${localStorage.getItem("evently.token")}` } });
    return (await r.json()).entry?.status;
  }, demoId);
  ok(status === "left", "leaving the waitlist from my page takes user3 out of line");

  // A page that does not exist, and the reset page, pass axe too.
  await p2.goto(`${base}/no/such/page`);
  await p2.getByRole("heading", { name: "Not found" }).waitFor();
  await axe(p2, "the not-found page");
  await p2.goto(`${base}/reset-password?token=${"0".repeat(64)}`);
  await p2.getByLabel(/New password/).fill("a brand new password");
  await p2.getByRole("button", { name: "Set password" }).click();
  await p2.getByRole("alert").waitFor();
  ok((await p2.getByRole("alert").textContent()).includes("ask for a new one"), "a dead reset link says so");
  await axe(p2, "the reset page");
  console.log(`web e2e: ${checks()} passed, 0 failed`);
} finally {
  await browser.close();
}
