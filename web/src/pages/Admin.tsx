// The organizer's pages: overview, the venue designer with a live map,
// events (create from a template, edit the draft, publish, cancel), and
// each event's dashboard, attendees, CSV and door check-in.
import { useEffect, useMemo, useState } from "preact/hooks";
import { api, ApiError, get, newKey, post, session, when, type Compact, type Layout, type Money, type Section } from "../api";
import { Link, navigate } from "../router";
import { SeatMap } from "../SeatMap";
import { Failure } from "../ui";

const PITCH = 10; // evently_core::venue::SEAT_PITCH

interface SectionDraft {
  id: string;
  name: string;
  rows: number;
  seats_per_row: number;
  default_price: string;
  origin_x: string;
  origin_y: string;
  gaps: string;
}
interface Venue {
  id: string;
  name: string;
  city: string;
  capacity: number;
  sections: {
    id: string;
    name: string;
    rows: number;
    seats_per_row: number;
    default_price: Money;
    origin_x: number;
    origin_y: number;
    gaps: string[];
    capacity: number;
  }[];
}
interface AdminEvent {
  id: string;
  name: string;
  description: string;
  status: "draft" | "published" | "cancelled";
  starts_at: string;
  ends_at: string;
  currency: string;
  total_seats: number;
  seating: string;
  venue: { id: string; name: string; city: string };
  sections: { id: string; name: string; price: Money; capacity: number }[];
  cancellation_policy: Policy;
  admission?: { on_sale_at: string; rate_per_minute: number; window_seconds?: number } | null;
}
interface Analytics {
  capacity: number;
  sold: number;
  held: number;
  available: number;
  bookings: number;
  cancellations: number;
  checked_in: number;
  revenue: Money;
  gross_sales: Money;
  refunds: Money;
  currency: string;
  utilization: number;
  waitlist: { waiting: number; offered: number; converted: number; expired: number; withdrawn: number };
  sales_by_hour?: { hour: string; bookings: number; seats_sold: number; sales: Money; refunds: Money; cancellations: number }[];
}

function useOrganizer(): boolean {
  const user = session.user();
  const ok = !!user && (user.role === "organizer" || user.role === "admin");
  useEffect(() => {
    if (!ok) navigate(`/login?next=${encodeURIComponent(location.pathname)}`);
  }, [ok]);
  return ok;
}

/** Where each seat of the designer's sections lands: the same placement
 * as the API's (sections without an origin stacked top to bottom). */
export function previewLayout(name: string, drafts: SectionDraft[]): Layout {
  let nextY = 0;
  const sections: Section[] = drafts.map((d) => {
    const rows = Math.max(0, Math.min(200, Math.floor(d.rows) || 0));
    const per = Math.max(0, Math.min(200, Math.floor(d.seats_per_row) || 0));
    const ox = d.origin_x === "" ? 0 : Number(d.origin_x) || 0;
    const oy = d.origin_y === "" ? nextY : Number(d.origin_y) || 0;
    nextY = Math.max(nextY, oy + (rows + 2) * PITCH);
    const gaps = new Set(d.gaps.split(/[\s,]+/).filter(Boolean));
    const seats = [];
    for (let r = 1; r <= rows; r++)
      for (let n = 1; n <= per; n++) {
        const id = `${d.id}-${r}-${n}`;
        if (!gaps.has(id))
          seats.push({ id, row: r, number: n, x: ox + (n - 1) * PITCH, y: oy + (r - 1) * PITCH, price: d.default_price });
      }
    return { id: d.id, name: d.name || d.id, price: d.default_price, capacity: seats.length, seats };
  });
  return { event_id: "preview", venue: { id: "preview", name: name || "the venue", city: "" }, sections };
}

export function AdminHome() {
  const ok = useOrganizer();
  const [overview, setOverview] = useState<{ events: { event_id: string; name: string; status: string; sold: number; capacity: number; revenue: Money; currency: string }[]; revenue: Record<string, Money>; sold: number; capacity: number } | null>(null);
  const [events, setEvents] = useState<AdminEvent[]>([]);
  const [venues, setVenues] = useState<Venue[]>([]);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!ok) return;
    get<typeof overview>("/admin/analytics").then(setOverview).catch(setError);
    get<{ events: AdminEvent[] }>("/admin/events").then((r) => setEvents(r.events)).catch(setError);
    get<{ venues: Venue[] }>("/admin/venues").then((r) => setVenues(r.venues)).catch(setError);
  }, [ok]);
  if (!ok) return null;
  return (
    <section>
      <h1>Organizer</h1>
      <Failure error={error} />
      <div class="actions">
        <Link href="/admin/venues/new" class="button primary">
          Design a venue
        </Link>
        <Link href="/admin/events/new" class="button">
          Create an event
        </Link>
      </div>
      {overview && (
        <div class="tiles" aria-label="All your events">
          <Tile label="Seats sold" value={`${overview.sold} of ${overview.capacity}`} />
          <Tile label="Revenue" value={Object.entries(overview.revenue).map(([c, v]) => `${v} ${c}`).join(", ") || "0"} />
        </div>
      )}
      <h2>Events</h2>
      <table class="grid">
        <thead>
          <tr>
            <th scope="col">Event</th>
            <th scope="col">Starts</th>
            <th scope="col">Status</th>
            <th scope="col">Sold</th>
          </tr>
        </thead>
        <tbody>
          {events.map((e) => {
            const line = overview?.events.find((x) => x.event_id === e.id);
            return (
              <tr key={e.id}>
                <td>
                  <Link href={`/admin/events/${e.id}`}>{e.name}</Link>
                </td>
                <td>{when(e.starts_at)}</td>
                <td>{e.status}</td>
                <td>{line ? `${line.sold} of ${line.capacity}` : "—"}</td>
              </tr>
            );
          })}
        </tbody>
      </table>
      <h2>Venue templates</h2>
      <ul>
        {venues.map((v) => (
          <li key={v.id}>
            {v.name}, {v.city} — {v.capacity} seats in {v.sections.length} section{v.sections.length > 1 ? "s" : ""}{" "}
            <Link href={`/admin/events/new?venue=${v.id}`}>create an event here</Link> ·{" "}
            <Link href={`/admin/venues/${v.id}`} label={`Edit ${v.name}`}>
              edit
            </Link>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Tile({ label, value }: { label: string; value: string }) {
  return (
    <div class="tile">
      <span class="tile-label">{label}</span>
      <strong>{value}</strong>
    </div>
  );
}

/** The designer: a new template, or (with `id`) one of yours replaced —
 * events already created from it keep the seats they were made with. */
export function VenueDesigner({ id }: { id?: string }) {
  const ok = useOrganizer();
  const [name, setName] = useState("");
  const [city, setCity] = useState("");
  const [sections, setSections] = useState<SectionDraft[]>([
    { id: "A", name: "Stalls", rows: 8, seats_per_row: 12, default_price: "40.00", origin_x: "", origin_y: "", gaps: "" },
  ]);
  const [error, setError] = useState<unknown>(null);
  const [loaded, setLoaded] = useState(!id);
  useEffect(() => {
    if (!ok || !id) return;
    get<{ venue: Venue }>(`/admin/venues/${id}`)
      .then(({ venue }) => {
        setName(venue.name);
        setCity(venue.city);
        setSections(
          venue.sections.map((s) => ({
            id: s.id,
            name: s.name,
            rows: s.rows,
            seats_per_row: s.seats_per_row,
            default_price: s.default_price,
            origin_x: String(s.origin_x),
            origin_y: String(s.origin_y),
            gaps: s.gaps.join(", "),
          })),
        );
        setLoaded(true);
      })
      .catch(setError);
  }, [ok, id]);
  const layout = useMemo(() => previewLayout(name, sections), [name, sections]);
  const total = layout.sections.reduce((n, s) => n + s.seats.length, 0);
  if (!ok) return null;
  const set = (i: number, patch: Partial<SectionDraft>) =>
    setSections((all) => all.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const body = {
        name,
        city,
        sections: sections.map((s) => ({
          id: s.id,
          name: s.name,
          rows: Number(s.rows),
          seats_per_row: Number(s.seats_per_row),
          default_price: Number(s.default_price).toFixed(2),
          origin_x: s.origin_x === "" ? null : Number(s.origin_x),
          origin_y: s.origin_y === "" ? null : Number(s.origin_y),
          gaps: s.gaps.split(/[\s,]+/).filter(Boolean),
        })),
      };
      if (id) {
        await api("PUT", `/admin/venues/${id}`, body);
        navigate("/admin");
      } else {
        const out = await post<{ venue: Venue }>("/admin/venues", body, { "idempotency-key": newKey() });
        navigate(`/admin/events/new?venue=${out.venue.id}`);
      }
    } catch (err) {
      setError(err);
    }
  };
  if (!loaded) return <Failure error={error} />;
  return (
    <section>
      <h1>{id ? `Edit ${name}` : "Design a venue"}</h1>
      {id && <p>Saving replaces the template. Events already created from it keep the seats they were made with.</p>}
      <form class="designer" onSubmit={submit}>
        <div class="row">
          <label>
            Venue name
            <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
          </label>
          <label>
            City
            <input value={city} onInput={(e) => setCity(e.currentTarget.value)} required />
          </label>
        </div>
        {sections.map((s, i) => (
          <fieldset key={i} class="section-draft">
            <legend>Section {i + 1}</legend>
            <label>
              Id (A–Z, 0–9)
              <input value={s.id} onInput={(e) => set(i, { id: e.currentTarget.value.toUpperCase() })} required />
            </label>
            <label>
              Name
              <input value={s.name} onInput={(e) => set(i, { name: e.currentTarget.value })} required />
            </label>
            <label>
              Rows
              <input type="number" min="1" max="200" value={s.rows} onInput={(e) => set(i, { rows: Number(e.currentTarget.value) })} />
            </label>
            <label>
              Seats per row
              <input type="number" min="1" max="200" value={s.seats_per_row} onInput={(e) => set(i, { seats_per_row: Number(e.currentTarget.value) })} />
            </label>
            <label>
              Default price
              <input type="number" min="0" step="0.01" value={s.default_price} onInput={(e) => set(i, { default_price: e.currentTarget.value })} />
            </label>
            <label>
              Left edge (x, optional)
              <input type="number" min="0" value={s.origin_x} onInput={(e) => set(i, { origin_x: e.currentTarget.value })} />
            </label>
            <label>
              Top edge (y, optional)
              <input type="number" min="0" value={s.origin_y} onInput={(e) => set(i, { origin_y: e.currentTarget.value })} />
            </label>
            <label>
              Gaps (seat ids, e.g. {s.id}-3-5)
              <input value={s.gaps} onInput={(e) => set(i, { gaps: e.currentTarget.value })} />
            </label>
            {sections.length > 1 && (
              <button type="button" onClick={() => setSections((all) => all.filter((_, j) => j !== i))}>
                Remove section {i + 1}
              </button>
            )}
          </fieldset>
        ))}
        <button
          type="button"
          onClick={() =>
            setSections((all) => [
              ...all,
              { id: String.fromCharCode(65 + all.length), name: "", rows: 5, seats_per_row: 10, default_price: "30.00", origin_x: "", origin_y: "", gaps: "" },
            ])
          }
        >
          Add a section
        </button>
        <h2>Preview: {total} seats</h2>
        {total > 0 ? (
          <SeatMap layout={layout} currency="" states={new Map()} selected={new Set()} onToggle={() => {}} />
        ) : (
          <p>No seats yet.</p>
        )}
        <Failure error={error} />
        <button type="submit" class="primary">
          {id ? "Save the changes" : "Save the venue"}
        </button>
      </form>
    </section>
  );
}

function localInput(iso: string, seconds = false): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  const minute = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return seconds ? `${minute}:${pad(d.getSeconds())}` : minute;
}
const toIso = (local: string) => new Date(local).toISOString().replace(/\.\d+Z$/, "Z");

interface Policy {
  allowed: boolean;
  deadline_hours: number;
  fee_type: string;
  fee_value: string;
}
/** When, at what prices and on what cancellation terms: what a draft
 * takes, the same when it is created and when it is edited. */
interface Terms {
  starts: string;
  ends: string;
  /** Section id → price, as typed. */
  prices: Record<string, string>;
  policy: Policy;
  /** The waiting room in front of the on-sale, when `on`. */
  room: { on: boolean; opens: string; rate: number; minutes: number };
}
type PricedSection = { id: string; name: string; capacity: number; price: string };

/** The API's fields for `terms` (prices for every section, two decimals). */
function termsBody(terms: Terms, sections: PricedSection[]) {
  const section_prices: Record<string, string> = {};
  for (const s of sections) section_prices[s.id] = Number(terms.prices[s.id] ?? s.price).toFixed(2);
  return {
    starts_at: toIso(terms.starts),
    ends_at: toIso(terms.ends),
    section_prices,
    cancellation_policy: { ...terms.policy, fee_value: Number(terms.policy.fee_value).toFixed(2) },
    admission: terms.room.on
      ? { on_sale_at: toIso(terms.room.opens), rate_per_minute: Number(terms.room.rate), window_seconds: Math.round(Number(terms.room.minutes) * 60) }
      : null,
  };
}

/** No waiting room, its fields ready with an on-sale an hour from now. */
function noRoom(): Terms["room"] {
  return { on: false, opens: localInput(new Date(Date.now() + 3600e3).toISOString(), true), rate: 500, minutes: 10 };
}

function TermsFields({ terms, onChange, sections }: { terms: Terms; onChange: (t: Terms) => void; sections: PricedSection[] }) {
  const policy = terms.policy;
  const setPolicy = (p: Partial<Policy>) => onChange({ ...terms, policy: { ...policy, ...p } });
  const room = terms.room;
  const setRoom = (r: Partial<Terms["room"]>) => onChange({ ...terms, room: { ...room, ...r } });
  return (
    <>
      <label>
        Starts
        <input type="datetime-local" value={terms.starts} onInput={(e) => onChange({ ...terms, starts: e.currentTarget.value })} required />
      </label>
      <label>
        Ends
        <input type="datetime-local" value={terms.ends} onInput={(e) => onChange({ ...terms, ends: e.currentTarget.value })} required />
      </label>
      {sections.map((s) => (
        <label key={s.id}>
          Price in {s.name} ({s.capacity} seats)
          <input
            type="number"
            min="0"
            step="0.01"
            value={terms.prices[s.id] ?? s.price}
            onInput={(e) => onChange({ ...terms, prices: { ...terms.prices, [s.id]: e.currentTarget.value } })}
          />
        </label>
      ))}
      <fieldset>
        <legend>Cancellation policy</legend>
        <label class="inline">
          <input type="checkbox" checked={policy.allowed} onChange={(e) => setPolicy({ allowed: e.currentTarget.checked })} />
          Customers may cancel
        </label>
        <label>
          Until how many hours before the start
          <input type="number" min="0" value={policy.deadline_hours} onInput={(e) => setPolicy({ deadline_hours: Number(e.currentTarget.value) })} />
        </label>
        <label>
          Fee
          <select value={policy.fee_type} onChange={(e) => setPolicy({ fee_type: e.currentTarget.value })}>
            <option value="none">None</option>
            <option value="fixed">Fixed amount</option>
            <option value="percentage">Percentage</option>
          </select>
        </label>
        {policy.fee_type !== "none" && (
          <label>
            Fee value
            <input type="number" min="0" step="0.01" value={policy.fee_value} onInput={(e) => setPolicy({ fee_value: e.currentTarget.value })} />
          </label>
        )}
      </fieldset>
      <fieldset>
        <legend>Waiting room</legend>
        <label class="inline">
          <input type="checkbox" checked={room.on} onChange={(e) => setRoom({ on: e.currentTarget.checked })} />
          Let buyers in through a waiting room (for a rush: in the order they join, a number a minute)
        </label>
        {room.on && (
          <>
            <label>
              On sale from
              <input type="datetime-local" step="1" value={room.opens} onInput={(e) => setRoom({ opens: e.currentTarget.value })} required />
            </label>
            <label>
              Let in per minute
              <input type="number" min="1" max="100000" value={room.rate} onInput={(e) => setRoom({ rate: Number(e.currentTarget.value) })} />
            </label>
            <label>
              Minutes each has to hold seats
              <input type="number" min="1" max="60" value={room.minutes} onInput={(e) => setRoom({ minutes: Number(e.currentTarget.value) })} />
            </label>
          </>
        )}
      </fieldset>
    </>
  );
}

export function EventNew() {
  const ok = useOrganizer();
  const [venues, setVenues] = useState<Venue[]>([]);
  const [venueId, setVenueId] = useState(new URLSearchParams(location.search).get("venue") ?? "");
  const inAMonth = new Date(Date.now() + 30 * 86400e3);
  inAMonth.setHours(19, 0, 0, 0);
  const [name, setName] = useState("");
  const [description, setDescription] = useState("");
  const [terms, setTerms] = useState<Terms>({
    starts: localInput(inAMonth.toISOString()),
    ends: localInput(new Date(inAMonth.getTime() + 3 * 3600e3).toISOString()),
    prices: {},
    policy: { allowed: true, deadline_hours: 24, fee_type: "none", fee_value: "0.00" },
    room: noRoom(),
  });
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (ok) get<{ venues: Venue[] }>("/admin/venues").then((r) => setVenues(r.venues)).catch(setError);
  }, [ok]);
  const venue = venues.find((v) => v.id === venueId);
  const priced: PricedSection[] = (venue?.sections ?? []).map((s) => ({ id: s.id, name: s.name, capacity: s.capacity, price: s.default_price }));
  if (!ok) return null;
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      const out = await post<{ event: AdminEvent }>(
        "/admin/events",
        // A new event's waiting room is given or left out (not null).
        (({ admission, ...rest }) => ({ venue_id: venueId, name, description, ...rest, ...(admission ? { admission } : {}) }))(
          termsBody(terms, priced),
        ),
        { "idempotency-key": newKey() },
      );
      navigate(`/admin/events/${out.event.id}`);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section>
      <h1>Create an event</h1>
      <form class="panel wide" onSubmit={submit}>
        <label>
          Venue
          <select value={venueId} onChange={(e) => setVenueId(e.currentTarget.value)} required>
            <option value="">Choose a venue template</option>
            {venues.map((v) => (
              <option key={v.id} value={v.id}>
                {v.name}, {v.city} ({v.capacity} seats)
              </option>
            ))}
          </select>
        </label>
        <label>
          Event name
          <input value={name} onInput={(e) => setName(e.currentTarget.value)} required />
        </label>
        <label>
          Description
          <textarea value={description} onInput={(e) => setDescription(e.currentTarget.value)} rows={3} />
        </label>
        <TermsFields terms={terms} onChange={setTerms} sections={priced} />
        <Failure error={error} />
        <button type="submit" class="primary">
          Create the draft
        </button>
      </form>
    </section>
  );
}

/** Horizontal bars, each with its number: charts that read as text too. */
function Bars({ title, items }: { title: string; items: { label: string; value: number; max: number; text: string }[] }) {
  return (
    <figure class="bars">
      <figcaption>{title}</figcaption>
      <ul>
        {items.map((it) => (
          <li key={it.label}>
            <span class="bar-label">{it.label}</span>
            <span class="bar-track" aria-hidden="true">
              <span class="bar-fill" style={{ width: `${it.max ? (100 * it.value) / it.max : 0}%` }} />
            </span>
            <span class="bar-value">{it.text}</span>
          </li>
        ))}
      </ul>
    </figure>
  );
}

/** Sales and revenue hour by hour (the last 48 hours with any), with the
 * running total of revenue. */
function SalesOverTime({ hours, currency }: { hours: NonNullable<Analytics["sales_by_hour"]>; currency: string }) {
  let running = 0;
  const rows = hours.map((h) => {
    const net = Number(h.sales) - Number(h.refunds);
    running += net;
    return { ...h, net, running };
  });
  const shown = rows.slice(-48);
  const max = Math.max(1, ...shown.map((r) => Math.abs(r.net)));
  return (
    <Bars
      title={`Sales over time, by hour (revenue to date ${running.toFixed(2)} ${currency})`}
      items={shown.map((r) => ({
        label: new Date(r.hour).toLocaleString(undefined, { month: "short", day: "numeric", hour: "2-digit", minute: "2-digit" }),
        value: Math.max(0, r.net),
        max,
        text: `${r.net.toFixed(2)} ${currency} · ${r.bookings} booking${r.bookings === 1 ? "" : "s"}${r.cancellations ? ` · ${r.cancellations} cancelled` : ""}`,
      }))}
    />
  );
}

/** Attendees shown per page (the rest one click away; the CSV has all). */
const ATTENDEE_PAGE = 100;

interface StaffMember {
  user_id: string;
  email: string;
  name: string;
  added_at: string;
}

/** Who may scan tickets and read the attendees of this event: added by
 * their account's email, removed with one click. */
function DoorStaff({ eventId }: { eventId: string }) {
  const [staff, setStaff] = useState<StaffMember[]>([]);
  const [email, setEmail] = useState("");
  const [error, setError] = useState<unknown>(null);
  const path = `/admin/events/${eventId}/staff`;
  const load = () =>
    get<{ staff: StaffMember[] }>(path)
      .then((r) => setStaff(r.staff))
      .catch(setError);
  useEffect(() => {
    load();
  }, [eventId]);
  const act = async (work: () => Promise<unknown>) => {
    setError(null);
    try {
      await work();
      await load();
      return true;
    } catch (err) {
      setError(err);
      return false;
    }
  };
  return (
    <div class="panel">
      <h2>Door staff</h2>
      <p>People with an account who may check tickets in and see the attendees of this event — nothing else.</p>
      {staff.length === 0 ? (
        <p>Nobody yet: only you can check people in.</p>
      ) : (
        <ul class="staff" aria-label="Door staff">
          {staff.map((m) => (
            <li key={m.user_id}>
              {m.name} ({m.email}){" "}
              <button type="button" onClick={() => act(() => api("DELETE", `${path}/${m.user_id}`))}>
                Remove {m.name}
              </button>
            </li>
          ))}
        </ul>
      )}
      <form
        class="row"
        onSubmit={async (e) => {
          e.preventDefault();
          if (await act(() => post(path, { email: email.trim() }))) setEmail("");
        }}
      >
        <label>
          Their account's email
          <input type="email" value={email} onInput={(e) => setEmail(e.currentTarget.value)} required />
        </label>
        <button type="submit">Add to the door</button>
      </form>
      <Failure error={error} />
    </div>
  );
}

export function EventAdmin({ id }: { id: string }) {
  const ok = useOrganizer();
  const [event, setEvent] = useState<AdminEvent | null>(null);
  const [stats, setStats] = useState<Analytics | null>(null);
  const [compact, setCompact] = useState<Compact | null>(null);
  const [attendees, setAttendees] = useState<{ booking_id: string; name: string; email: string; seat_ids: string[]; status: string; checked_in: string[] }[]>([]);
  // Where the attendee list's next page starts (null: it is all shown).
  const [moreFrom, setMoreFrom] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [confirmCancel, setConfirmCancel] = useState(false);
  const [code, setCode] = useState("");
  const [scan, setScan] = useState<string>("");
  const [draft, setDraft] = useState<({ name: string; description: string } & Terms) | null>(null);
  const load = () => {
    get<{ event: AdminEvent }>(`/admin/events/${id}`)
      .then((r) => {
        setEvent(r.event);
        setDraft({
          name: r.event.name,
          description: r.event.description,
          starts: localInput(r.event.starts_at),
          ends: localInput(r.event.ends_at),
          prices: {},
          policy: { ...r.event.cancellation_policy },
          room: r.event.admission
            ? {
                on: true,
                opens: localInput(r.event.admission.on_sale_at, true),
                rate: r.event.admission.rate_per_minute,
                minutes: (r.event.admission.window_seconds ?? 600) / 60,
              }
            : noRoom(),
        });
        if (r.event.status !== "draft") {
          get<Analytics>(`/admin/events/${id}/analytics`).then(setStats).catch(setError);
          get<{ attendees: typeof attendees; next_cursor: string | null }>(`/admin/events/${id}/attendees?limit=${ATTENDEE_PAGE}`)
            .then((a) => {
              setAttendees(a.attendees);
              setMoreFrom(a.next_cursor);
            })
            .catch(setError);
        }
        if (r.event.status === "published") get<Compact>(`/events/${id}/seats/available?format=compact`).then(setCompact).catch(() => {});
      })
      .catch(setError);
  };
  useEffect(() => {
    if (ok) load();
  }, [ok, id]);
  if (!ok) return null;
  if (!event) return <Failure error={error} />;

  const patch = async (body: Record<string, unknown>) => {
    setError(null);
    try {
      await api("PATCH", `/admin/events/${id}`, body);
      setConfirmCancel(false);
      load();
    } catch (err) {
      setError(err);
    }
  };
  const more = async () => {
    if (!moreFrom) return;
    try {
      const page = await get<{ attendees: typeof attendees; next_cursor: string | null }>(
        `/admin/events/${id}/attendees?limit=${ATTENDEE_PAGE}&cursor=${encodeURIComponent(moreFrom)}`,
      );
      setAttendees((shown) => [...shown, ...page.attendees]);
      setMoreFrom(page.next_cursor);
    } catch (err) {
      setError(err);
    }
  };
  // Every attendee, page after page (each page's `Link: <…>; rel="next"`),
  // in one file with one header row.
  const csv = async () => {
    setError(null);
    let next: string | null = `/api/v1/admin/events/${id}/attendees?limit=1000`;
    let text = "";
    try {
      while (next) {
        const resp: Response = await fetch(next, {
          headers: { accept: "text/csv", authorization: `Bearer ${session.token()}` },
        });
        if (!resp.ok) throw new ApiError({ status: resp.status, detail: `the attendee list could not be read (${resp.status})` });
        const page = await resp.text();
        text += text === "" ? page : page.slice(page.indexOf("\n") + 1);
        next = resp.headers.get("link")?.match(/<([^>]+)>;\s*rel="next"/)?.[1] ?? null;
      }
    } catch (err) {
      setError(err);
      return;
    }
    const url = URL.createObjectURL(new Blob([text], { type: "text/csv" }));
    const a = document.createElement("a");
    a.href = url;
    a.download = `attendees-${id}.csv`;
    a.click();
    URL.revokeObjectURL(url);
  };
  const checkIn = async (e: Event) => {
    e.preventDefault();
    try {
      const r = await post<{ ticket: { seat_id: string }; checked_in_at: string }>(`/admin/events/${id}/check-ins`, { code: code.trim() });
      setScan(`Let in: seat ${r.ticket.seat_id}`);
      load();
    } catch (err) {
      setScan(err instanceof Error ? `Refused: ${err.message}` : "Refused");
    }
    setCode("");
  };
  const sections = event.sections.map((s) => {
    const c = compact?.sections.find((x) => x.id === s.id);
    const taken = c ? s.capacity - c.available : 0;
    return { label: s.name, value: taken, max: s.capacity, text: `${taken} of ${s.capacity}` };
  });
  const wl = stats?.waitlist;
  return (
    <section>
      <h1>{event.name}</h1>
      <p class="meta">
        {when(event.starts_at)} · {event.venue.name}, {event.venue.city} · <strong>{event.status}</strong>
      </p>
      <Failure error={error} />
      {event.status === "draft" && draft && (
        <form
          class="panel"
          onSubmit={(e) => {
            e.preventDefault();
            const priced = event.sections;
            const body: Record<string, unknown> = { name: draft.name, description: draft.description, ...termsBody(draft, priced) };
            // Prices sent only when one changed: new prices rewrite the seats.
            if (priced.every((s) => Number(draft.prices[s.id] ?? s.price) === Number(s.price))) delete body.section_prices;
            patch(body);
          }}
        >
          <h2>Draft</h2>
          <label>
            Event name
            <input value={draft.name} onInput={(e) => setDraft({ ...draft, name: e.currentTarget.value })} />
          </label>
          <label>
            Description
            <textarea value={draft.description} rows={3} onInput={(e) => setDraft({ ...draft, description: e.currentTarget.value })} />
          </label>
          <TermsFields terms={draft} onChange={(t) => setDraft({ ...draft, ...t })} sections={event.sections} />
          <div class="actions">
            <button type="submit">Save the draft</button>
            <button type="button" class="primary" disabled={event.seating !== "ready"} onClick={() => patch({ status: "published" })}>
              Publish
            </button>
          </div>
          {event.seating !== "ready" && <p>Its seats are still being written; publishing waits for them.</p>}
        </form>
      )}
      {stats && (
        <>
          <div class="tiles" aria-label="Sales">
            <Tile label="Seats sold" value={`${stats.sold} of ${stats.capacity}`} />
            <Tile label="Revenue" value={`${stats.revenue} ${stats.currency}`} />
            <Tile label="Bookings" value={String(stats.bookings)} />
            <Tile label="Held now" value={String(stats.held)} />
            <Tile label="Checked in" value={String(stats.checked_in)} />
            <Tile label="Refunded" value={`${stats.refunds} ${stats.currency}`} />
          </div>
          {compact && <Bars title="Occupancy by section" items={sections} />}
          {wl && (
            <Bars
              title="Waitlist"
              items={(
                [
                  ["Waiting", wl.waiting],
                  ["Offered", wl.offered],
                  ["Booked an offer", wl.converted],
                  ["Let an offer lapse", wl.expired],
                ] as const
              ).map(([label, value]) => ({
                label,
                value,
                max: Math.max(1, wl.waiting + wl.offered + wl.converted + wl.expired),
                text: String(value),
              }))}
            />
          )}
          {stats.sales_by_hour && stats.sales_by_hour.length > 0 && (
            <SalesOverTime hours={stats.sales_by_hour} currency={stats.currency} />
          )}
        </>
      )}
      {event.status === "published" && (
        <div class="panel">
          <h2>Door</h2>
          <form class="row" onSubmit={checkIn}>
            <label>
              Ticket code
              <input value={code} onInput={(e) => setCode(e.currentTarget.value)} required />
            </label>
            <button type="submit">Check in</button>
          </form>
          {scan && (
            <p role="status" class={scan.startsWith("Let in") ? "note" : "error"}>
              {scan}
            </p>
          )}
        </div>
      )}
      {event.status === "published" && <DoorStaff eventId={id} />}
      {event.status !== "draft" && (
        <div class="panel wide">
          <h2>Attendees</h2>
          <table class="grid">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Email</th>
                <th scope="col">Seats</th>
                <th scope="col">Status</th>
                <th scope="col">Checked in</th>
              </tr>
            </thead>
            <tbody>
              {attendees.map((a) => (
                <tr key={a.booking_id}>
                  <td>{a.name}</td>
                  <td>{a.email}</td>
                  <td>{a.seat_ids.join(", ")}</td>
                  <td>{a.status}</td>
                  <td>{a.checked_in.join(", ") || "—"}</td>
                </tr>
              ))}
            </tbody>
          </table>
          <div class="actions">
            {moreFrom && (
              <button type="button" onClick={more}>
                Show more attendees
              </button>
            )}
            <button type="button" onClick={csv}>
              Download all as CSV
            </button>
          </div>
        </div>
      )}
      {event.status === "published" && (
        <div class="panel">
          <h2>Cancel the event</h2>
          {confirmCancel ? (
            <div role="alertdialog" aria-labelledby="cancel-what">
              <p id="cancel-what">
                Cancelling refunds every booking in full ({stats?.bookings ?? 0} now, {stats?.revenue ?? "0.00"} {event.currency}), emails
                each booker and everyone on the waitlist ({stats?.waitlist.waiting ?? 0} waiting), and stops all sales. It cannot be undone.
              </p>
              <button type="button" class="danger" onClick={() => patch({ status: "cancelled" })}>
                Cancel the event and refund everyone
              </button>{" "}
              <button type="button" onClick={() => setConfirmCancel(false)}>
                Keep it on sale
              </button>
            </div>
          ) : (
            <button type="button" onClick={() => setConfirmCancel(true)}>
              Cancel this event…
            </button>
          )}
        </div>
      )}
      <p>
        <Link href="/admin">All your events</Link>
        {event.status === "published" && (
          <>
            {" · "}
            <Link href={`/events/${id}`}>Its public page</Link>
          </>
        )}
      </p>
    </section>
  );
}
