import { useEffect, useState } from "preact/hooks";
import { get, when, type EventView } from "../api";
import { Link } from "../router";
import { Failure } from "../ui";

interface Page {
  events: EventView[];
  next_cursor?: string | null;
}

export function Catalog() {
  const [q, setQ] = useState("");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [events, setEvents] = useState<EventView[] | null>(null);
  const [cursor, setCursor] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);

  const query = (after?: string) => {
    const params = new URLSearchParams({ limit: "20" });
    if (q.trim()) params.set("q", q.trim());
    if (from) params.set("from", new Date(`${from}T00:00:00`).toISOString().replace(/\.\d+Z$/, "Z"));
    if (to) params.set("to", new Date(`${to}T23:59:59`).toISOString().replace(/\.\d+Z$/, "Z"));
    if (after) params.set("cursor", after);
    return `/events?${params}`;
  };
  const load = (after?: string) => {
    setError(null);
    get<Page>(query(after))
      .then((page) => {
        setEvents((prev) => (after && prev ? [...prev, ...page.events] : page.events));
        setCursor(page.next_cursor ?? null);
      })
      .catch(setError);
  };
  useEffect(() => {
    const t = setTimeout(() => load(), 250);
    return () => clearTimeout(t);
  }, [q, from, to]);

  return (
    <section>
      <h1>What's on</h1>
      <form class="filters" role="search" onSubmit={(e) => (e.preventDefault(), load())}>
        <label>
          Search
          <input type="search" value={q} placeholder="Event name" onInput={(e) => setQ(e.currentTarget.value)} />
        </label>
        <label>
          From
          <input type="date" value={from} onInput={(e) => setFrom(e.currentTarget.value)} />
        </label>
        <label>
          To
          <input type="date" value={to} onInput={(e) => setTo(e.currentTarget.value)} />
        </label>
      </form>
      <Failure error={error} />
      {events === null ? (
        <p aria-live="polite">Loading…</p>
      ) : events.length === 0 ? (
        <p>No events match.</p>
      ) : (
        <ul class="cards">
          {events.map((e) => (
            <li key={e.id} class="card">
              <h2>
                <Link href={`/events/${e.id}`}>{e.name}</Link>
              </h2>
              <p>{when(e.starts_at)}</p>
              <p>
                {e.venue.name}, {e.venue.city}
              </p>
              <p>
                {e.price_range.min === e.price_range.max
                  ? `${e.price_range.min} ${e.currency}`
                  : `${e.price_range.min}–${e.price_range.max} ${e.currency}`}
                {" · "}
                {e.sold_out ? <strong>Sold out</strong> : `${e.available_seats} seats left`}
              </p>
            </li>
          ))}
        </ul>
      )}
      {cursor && (
        <button type="button" onClick={() => load(cursor)}>
          More events
        </button>
      )}
    </section>
  );
}
