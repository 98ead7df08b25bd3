// What the offer email's link opens: the seats held for you, the time
// left, and paying for them (logged in as the person it was offered to).
import { useEffect, useState } from "preact/hooks";
import { get, session, when, type EventView, type Offer } from "../api";
import { Checkout } from "../Checkout";
import { Link } from "../router";
import { Failure } from "../ui";

export function OfferPage({ token }: { token: string }) {
  const [data, setData] = useState<{ offer: Offer; event: EventView } | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ offer: Offer; event: EventView }>(`/waitlist/offers/${encodeURIComponent(token)}`)
      .then(setData)
      .catch(setError);
  }, [token]);
  if (error) {
    return (
      <section>
        <h1>This offer is not open</h1>
        <Failure error={error} />
        <p>
          <Link href="/me">My bookings</Link>
        </p>
      </section>
    );
  }
  if (!data) return <p aria-live="polite">Loading…</p>;
  const { offer, event } = data;
  return (
    <section class="offer">
      <h1>Seats held for you: {event.name}</h1>
      <p class="meta">
        {when(event.starts_at)} · {event.venue.name}, {event.venue.city}
      </p>
      {session.user() ? (
        <Checkout
          hold={{ ...offer, event_id: event.id }}
          currency={event.currency}
        />
      ) : (
        <p>
          {offer.seat_ids.join(", ")} — {offer.total_price} {event.currency}.{" "}
          <Link href={`/login?next=${encodeURIComponent(`/offers/${token}`)}`}>Log in</Link> to book them.
        </p>
      )}
    </section>
  );
}
