// One booking: its tickets with their QR codes.
import { useEffect, useState } from "preact/hooks";
import { get, type Booking, type Ticket } from "../api";
import { Link } from "../router";
import { Failure } from "../ui";

export function BookingPage({ id }: { id: string }) {
  const [booking, setBooking] = useState<Booking | null>(null);
  const [tickets, setTickets] = useState<Ticket[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    get<{ booking: Booking }>(`/bookings/${id}`)
      .then((b) => setBooking(b.booking))
      .catch(setError);
    get<{ tickets: Ticket[] }>(`/bookings/${id}/tickets`)
      .then((t) => setTickets(t.tickets))
      .catch(setError);
  }, [id]);
  if (error && !booking) {
    return (
      <section>
        <h1>Booking</h1>
        <Failure error={error} />
      </section>
    );
  }
  if (!booking) return <p aria-live="polite">Loading…</p>;
  return (
    <section class="booking">
      <h1>{booking.status === "confirmed" ? "You're going" : "Booking cancelled"}</h1>
      <p>
        Booking <code>{booking.id}</code>: {booking.seat_ids.join(", ")} — {booking.total_price}
        {booking.refund_amount ? ` (refunded ${booking.refund_amount})` : ""}
      </p>
      <h2>Tickets</h2>
      <ul class="tickets">
        {(tickets ?? []).map((t) => (
          <li key={t.id} class={`ticket ${t.status}`} data-ticket-id={t.id}>
            <img
              src={`data:image/svg+xml;charset=utf-8,${encodeURIComponent(t.qr_svg)}`}
              alt={`QR code of the ticket for seat ${t.seat_id}`}
              width={160}
              height={160}
            />
            <p>
              Seat <strong>{t.seat_id}</strong> · {t.status.replace("_", " ")}
            </p>
            <p class="code">{t.code}</p>
          </li>
        ))}
      </ul>
      <p>
        <Link href="/me">All my bookings</Link>
      </p>
    </section>
  );
}
