import { useEffect, useMemo, useState } from "preact/hooks";
import {
  ApiError,
  get,
  newKey,
  post,
  session,
  when,
  type Compact,
  type Entry,
  type EventView,
  type Hold,
  type Layout,
  type QueueTicket,
} from "../api";
import { Checkout } from "../Checkout";
import { Link } from "../router";
import { SeatMap, stateOf, type Placed } from "../SeatMap";
import { Countdown, Failure } from "../ui";

const REFRESH_MS = 5000;
const MAX_SEATS = 10;

export function EventPage({ id }: { id: string }) {
  const [event, setEvent] = useState<EventView | null>(null);
  const [layout, setLayout] = useState<Layout | null>(null);
  // Each section's seat states, a character per seat (compact availability).
  const [states, setStates] = useState<Map<string, string>>(new Map());
  const [compact, setCompact] = useState<Compact | null>(null);
  const [selected, setSelected] = useState<{ section: string; seats: string[] }>({ section: "", seats: [] });
  const [hold, setHold] = useState<Hold | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const [quantity, setQuantity] = useState(2);
  // The waiting room's ticket, when the on-sale has one (kept per tab).
  const [ticket, setTicket] = useState<QueueTicket | null>(null);
  const user = session.user();

  useEffect(() => {
    get<EventView>(`/events/${id}`).then(setEvent).catch(setError);
    get<Layout>(`/events/${id}/venue-layout?status=false`).then(setLayout).catch(setError);
  }, [id]);

  // Statuses, refreshed while the page is open: seats others take turn grey.
  useEffect(() => {
    if (!layout) return;
    let stop = false;
    let last = "";
    const refresh = () =>
      get<Compact>(`/events/${id}/seats/available?format=compact`)
        .then((c) => {
          if (stop) return;
          setCompact(c);
          // A new map only when a seat changed; the map redraws only the
          // parts whose own string changed.
          const now = c.sections.map((x) => `${x.id}:${x.seat_status}`).join("|");
          if (now === last) return;
          last = now;
          setStates(new Map(c.sections.map((x) => [x.id, x.seat_status])));
        })
        .catch(() => {});
    refresh();
    const t = setInterval(refresh, REFRESH_MS);
    return () => {
      stop = true;
      clearInterval(t);
    };
  }, [layout, id]);

  // An admission ends: read the ticket again when it does (it expires).
  useEffect(() => {
    if (ticket?.status !== "admitted" || !ticket.admitted_until) return;
    const t = setTimeout(
      () =>
        get<{ ticket: QueueTicket }>(`/events/${id}/queue/${ticket.id}`)
          .then((r) => setTicket(r.ticket))
          .catch(() => {}),
      Math.max(0, Date.parse(ticket.admitted_until) - Date.now()) + 1000,
    );
    return () => clearTimeout(t);
  }, [ticket, id]);

  const chosen = useMemo(() => new Set(selected.seats), [selected]);
  const section = layout?.sections.find((s) => s.id === selected.section);
  const total = section ? (Number(section.price) * selected.seats.length).toFixed(2) : "0.00";

  const toggle = ({ seat, section, index }: Placed) => {
    if (hold) return;
    const state = stateOf(states.get(section.id)?.[index]);
    setSelected((cur) => {
      if (cur.seats.includes(seat.id)) return { ...cur, seats: cur.seats.filter((s) => s !== seat.id) };
      if (state !== "available") return cur;
      // One hold is one section: choosing in another section starts over.
      const seats = cur.section === section.id ? cur.seats : [];
      if (seats.length >= MAX_SEATS) return cur;
      return { section: section.id, seats: [...seats, seat.id] };
    });
  };

  const holdSeats = async (body: Record<string, unknown>) => {
    setBusy(true);
    setError(null);
    try {
      const headers: Record<string, string> = { "idempotency-key": newKey() };
      if (ticket?.admission_token) headers["admission-token"] = ticket.admission_token;
      const h = await post<Hold>("/seats/hold", { event_id: id, ...body }, headers);
      setHold(h);
      setSelected({ section: h.section_id, seats: h.seat_ids });
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  if (error instanceof ApiError && error.status === 404 && !event) {
    return (
      <section>
        <h1>No such event</h1>
        <p>
          <Link href="/">See what's on</Link>
        </p>
      </section>
    );
  }
  if (!event || !layout) return <p aria-live="polite">Loading…</p>;
  const soldOut = compact ? compact.sold_out : event.sold_out;
  // With a waiting room, seats are held only with an admission.
  const admitted = !event.admission || ticket?.status === "admitted";

  return (
    <section class="event">
      <h1>{event.name}</h1>
      <p class="meta">
        {when(event.starts_at)} · {event.venue.name}, {event.venue.city}
      </p>
      {event.description && <p>{event.description}</p>}
      <p>
        {soldOut ? (
          <strong>Sold out</strong>
        ) : (
          `${compact?.total_available ?? event.available_seats} of ${event.total_seats} seats available`
        )}
      </p>
      <SeatMap layout={layout} currency={event.currency} states={states} selected={chosen} onToggle={toggle} />
      <Failure error={error} />
      {hold ? (
        <Checkout
          hold={hold}
          currency={event.currency}
          onReleased={() => {
            setHold(null);
            setSelected({ section: "", seats: [] });
          }}
        />
      ) : !user ? (
        <p>
          <Link href={`/login?next=${encodeURIComponent(`/events/${id}`)}`}>Log in</Link> to hold seats
          {soldOut ? " or join the waitlist" : ""}.
        </p>
      ) : soldOut ? (
        <Waitlist event={event} layout={layout} />
      ) : !admitted ? (
        <WaitingRoom eventId={id} onSale={event.admission!.on_sale_at} ticket={ticket} onTicket={setTicket} />
      ) : (
        <div class="choose">
          {ticket?.admitted_until && <Countdown until={ticket.admitted_until} label="Your turn to choose seats ends in" />}
          <p aria-live="polite">
            {selected.seats.length === 0
              ? "Pick seats on the map (one section per hold), or let us choose."
              : `${selected.seats.length} seat${selected.seats.length > 1 ? "s" : ""} in ${section?.name}: ${selected.seats.join(", ")} — ${total} ${event.currency}`}
          </p>
          <div class="actions">
            <button
              type="button"
              class="primary"
              disabled={busy || selected.seats.length === 0}
              onClick={() => holdSeats({ section_id: selected.section, seat_ids: selected.seats })}
            >
              Hold {selected.seats.length || ""} seat{selected.seats.length === 1 ? "" : "s"}
            </button>
            <label class="inline" for="best-quantity">
              Best available
            </label>
            <select id="best-quantity" value={quantity} onChange={(e) => setQuantity(Number(e.currentTarget.value))}>
              {Array.from({ length: MAX_SEATS }, (_, i) => i + 1).map((n) => (
                <option key={n} value={n}>
                  {n}
                </option>
              ))}
            </select>
            <button type="button" disabled={busy} onClick={() => holdSeats({ quantity })}>
              Find me {quantity} together
            </button>
          </div>
        </div>
      )}
    </section>
  );
}

/** The line in front of an on-sale: join it, watch your place, and choose
 * seats once admitted. The ticket is kept for this tab, and joining again
 * returns the same ticket, so a reload never loses a place. */
function WaitingRoom(props: { eventId: string; onSale: string; ticket: QueueTicket | null; onTicket: (t: QueueTicket | null) => void }) {
  const { eventId, ticket, onTicket } = props;
  const stored = `evently.queue.${eventId}`;
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  // A ticket this tab already holds: read it back.
  useEffect(() => {
    const id = sessionStorage.getItem(stored);
    if (!ticket && id)
      get<{ ticket: QueueTicket }>(`/events/${eventId}/queue/${id}`)
        .then((r) => onTicket(r.ticket))
        .catch(() => sessionStorage.removeItem(stored));
  }, [eventId]);
  // Waiting: ask again every few seconds.
  useEffect(() => {
    if (!ticket || ticket.status !== "waiting") return;
    const t = setTimeout(() => {
      get<{ ticket: QueueTicket }>(`/events/${eventId}/queue/${ticket.id}`)
        .then((r) => onTicket(r.ticket))
        .catch(setError);
    }, 3000);
    return () => clearTimeout(t);
  }, [ticket]);
  const join = async () => {
    setBusy(true);
    setError(null);
    try {
      const r = await post<{ ticket: QueueTicket }>(`/events/${eventId}/queue`, {});
      sessionStorage.setItem(stored, r.ticket.id);
      onTicket(r.ticket);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const opens = Date.parse(props.onSale) > Date.now();
  return (
    <div class="panel waiting-room" aria-live="polite">
      <h2>Waiting room</h2>
      {!ticket || ticket.status === "expired" ? (
        <>
          <p>
            {ticket?.status === "expired"
              ? "Your turn ran out before you held seats. Join the line again for another."
              : `This on-sale lets people in in the order they join the line${opens ? `, from ${when(props.onSale)}` : ""}.`}
          </p>
          <button type="button" class="primary" disabled={busy} onClick={join}>
            Join the line
          </button>
        </>
      ) : (
        <p>
          You are <strong>number {ticket.position || "…"}</strong> in line
          {ticket.estimated_wait_seconds > 0 ? `, about ${Math.ceil(ticket.estimated_wait_seconds / 60)} min to go` : ""}. Keep this page
          open: the seats are yours to choose when it is your turn.
        </p>
      )}
      <Failure error={error} />
    </div>
  );
}

function Waitlist({ event, layout }: { event: EventView; layout: Layout }) {
  const [entry, setEntry] = useState<Entry | null | undefined>(undefined);
  const [quantity, setQuantity] = useState(2);
  const [sectionId, setSectionId] = useState("");
  const [maxPrice, setMaxPrice] = useState("");
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    get<{ entry: Entry }>(`/waitlist/status/${event.id}`)
      .then((r) => setEntry(r.entry))
      .catch((e) => (e instanceof ApiError && e.status === 404 ? setEntry(null) : setError(e)));
  useEffect(() => {
    load();
  }, [event.id]);

  if (entry === undefined) return null;
  if (entry && ["waiting", "offered"].includes(entry.status)) {
    return (
      <section class="waitlist" aria-labelledby="wl">
        <h2 id="wl">You are on the waitlist</h2>
        {entry.status === "offered" && entry.offer ? (
          <p>
            Seats are held for you: <Link href={`/offers/${entry.offer.claim_url.split("/").pop()}`}>see the offer</Link>.
          </p>
        ) : (
          <p>
            Position <strong>{entry.position}</strong> for {entry.quantity} seat{entry.quantity > 1 ? "s" : ""}. We email
            you when seats free up; they are held for you for 15 minutes.
          </p>
        )}
      </section>
    );
  }
  const join = async (e: Event) => {
    e.preventDefault();
    setError(null);
    const preferences: Record<string, string> = {};
    if (sectionId) preferences.section_id = sectionId;
    if (maxPrice) preferences.max_price = Number(maxPrice).toFixed(2);
    try {
      await post("/waitlist/join", { event_id: event.id, quantity, preferences }, { "idempotency-key": newKey() });
      await load();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="waitlist" onSubmit={join} aria-labelledby="wl">
      <h2 id="wl">Join the waitlist</h2>
      <label for="wl-quantity">Seats</label>
      <select id="wl-quantity" value={quantity} onChange={(e) => setQuantity(Number(e.currentTarget.value))}>
          {Array.from({ length: 10 }, (_, i) => i + 1).map((n) => (
            <option key={n} value={n}>
              {n}
            </option>
          ))}
      </select>
      <label for="wl-section">Section</label>
      <select id="wl-section" value={sectionId} onChange={(e) => setSectionId(e.currentTarget.value)}>
          <option value="">Any</option>
          {layout.sections.map((s) => (
            <option key={s.id} value={s.id}>
              {s.name} ({s.price} {event.currency})
            </option>
          ))}
      </select>
      <label for="wl-max">Most I pay per seat ({event.currency})</label>
      <input id="wl-max" type="number" min="0" step="0.01" value={maxPrice} onInput={(e) => setMaxPrice(e.currentTarget.value)} />
      <Failure error={error} />
      <button type="submit" class="primary">
        Join the waitlist
      </button>
    </form>
  );
}
