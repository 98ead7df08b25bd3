// A live hold: its countdown, a test card, pay → the booking.
import { useState } from "preact/hooks";
import { api, newKey, post, type Booking, type Hold } from "./api";
import { navigate } from "./router";
import { CardPicker, Countdown, Failure, useCountdown } from "./ui";

export function Checkout(props: {
  hold: Hold;
  currency: string;
  onReleased?: () => void;
}) {
  const [card, setCard] = useState("tok_visa");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  // One key per hold and card: a retried click cannot pay twice.
  const [keys] = useState(() => new Map<string, string>());
  const left = useCountdown(props.hold.expires_at);

  const pay = async () => {
    setBusy(true);
    setError(null);
    const k = `${props.hold.hold_id}#${card}`;
    if (!keys.has(k)) keys.set(k, newKey());
    try {
      const out = await post<{ booking: Booking }>(
        "/bookings/confirm",
        { hold_id: props.hold.hold_id, payment_details: { card_token: card } },
        { "idempotency-key": keys.get(k)! },
      );
      navigate(`/bookings/${out.booking.id}`);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  const release = async () => {
    setBusy(true);
    try {
      await api("DELETE", `/seats/hold/${props.hold.hold_id}`);
      props.onReleased?.();
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="checkout" aria-labelledby="checkout-title">
      <h2 id="checkout-title">Your seats are held</h2>
      <p>
        {props.hold.seat_ids.join(", ")} — <strong>{props.hold.total_price} {props.currency}</strong>
      </p>
      <Countdown until={props.hold.expires_at} label="Held for" />
      <CardPicker value={card} onChange={setCard} />
      <Failure error={error} />
      <div class="actions">
        <button type="button" class="primary" disabled={busy || left === 0} onClick={pay}>
          Pay {props.hold.total_price} {props.currency}
        </button>
        {props.onReleased && (
          <button type="button" disabled={busy} onClick={release}>
            Give the seats back
          </button>
        )}
      </div>
    </section>
  );
}
