// My bookings (upcoming and past) with their tickets and cancellation —
// the refund the event's policy gives shown before confirming —, my
// waitlist entries (place in line, an open offer, leaving), and the
// account's password.
import { useEffect, useState } from "preact/hooks";
import { api, get, post, session, when, type Booking, type Entry } from "../api";
import { Link, navigate } from "../router";
import { Failure } from "../ui";

export function MyPage() {
  const [tab, setTab] = useState<"upcoming" | "past">("upcoming");
  const [bookings, setBookings] = useState<Booking[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [asking, setAsking] = useState<string | null>(null);
  const load = () =>
    api<{ bookings: Booking[] }>("GET", `/bookings/me?when=${tab}`)
      .then((r) => setBookings(r.bookings))
      .catch(setError);
  useEffect(() => {
    if (!session.user()) {
      navigate(`/login?next=${encodeURIComponent("/me")}`);
      return;
    }
    setBookings(null);
    load();
  }, [tab]);

  const cancel = async (b: Booking) => {
    setError(null);
    try {
      await api("DELETE", `/bookings/${b.id}/cancel`);
      setAsking(null);
      await load();
    } catch (e) {
      setError(e);
    }
  };

  return (
    <section>
      <h1>My bookings</h1>
      <div class="tabs" role="tablist" aria-label="Which bookings">
        {(["upcoming", "past"] as const).map((t) => (
          <button
            key={t}
            type="button"
            role="tab"
            aria-selected={tab === t}
            aria-controls="my-bookings-panel"
            class={tab === t ? "tab on" : "tab"}
            onClick={() => setTab(t)}
          >
            {t === "upcoming" ? "Upcoming" : "Past"}
          </button>
        ))}
      </div>
      <Failure error={error} />
      {/* The tab panel is always there: the tabs' aria-controls names it. */}
      <div role="tabpanel" id="my-bookings-panel">
      {bookings === null ? (
        <p aria-live="polite">Loading…</p>
      ) : bookings.length === 0 ? (
        <p>
          No {tab} bookings. <Link href="/">See what's on</Link>.
        </p>
      ) : (
        <ul class="cards">
          {bookings.map((b) => (
            <li key={b.id} class="card" data-booking-id={b.id}>
              <h2>{b.event?.name ?? b.event_id}</h2>
              {b.event && <p>{when(b.event.starts_at)}</p>}
              <p>
                {b.seat_ids.join(", ")} · {b.total_price} · <strong>{b.status}</strong>
                {b.refund_amount && b.status === "cancelled" ? ` · refunded ${b.refund_amount}` : ""}
              </p>
              <p>
                <Link href={`/bookings/${b.id}`}>Tickets</Link>
              </p>
              {b.status === "confirmed" && b.cancellation && (
                <div class="cancel">
                  {!b.cancellation.allowed ? (
                    <p>Cannot be cancelled: {b.cancellation.reason}.</p>
                  ) : asking === b.id ? (
                    <div role="alertdialog" aria-labelledby={`ask-${b.id}`}>
                      <p id={`ask-${b.id}`}>
                        Cancel this booking? You get back <strong>{b.cancellation.refund_amount}</strong> (fee{" "}
                        {b.cancellation.cancellation_fee}); its tickets stop working.
                      </p>
                      <button type="button" class="danger" onClick={() => cancel(b)}>
                        Yes, cancel and refund {b.cancellation.refund_amount}
                      </button>{" "}
                      <button type="button" onClick={() => setAsking(null)}>
                        Keep it
                      </button>
                    </div>
                  ) : (
                    <button type="button" onClick={() => setAsking(b.id)}>
                      Cancel booking (refund {b.cancellation.refund_amount})
                    </button>
                  )}
                </div>
              )}
            </li>
          ))}
        </ul>
      )}
      </div>
      <MyWaitlist />
      <PasswordChange />
    </section>
  );
}

/** The entries still in line (or holding an offer) first, then the ended. */
function MyWaitlist() {
  const [entries, setEntries] = useState<Entry[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = () =>
    get<{ entries: Entry[] }>("/waitlist/me")
      .then((r) => setEntries(r.entries))
      .catch(setError);
  useEffect(() => {
    if (session.user()) load();
  }, []);
  const leave = async (e: Entry) => {
    setError(null);
    try {
      await api("DELETE", `/waitlist/${e.event_id}`);
      await load();
    } catch (err) {
      setError(err);
    }
  };
  if (entries === null) return <Failure error={error} />;
  const active = (e: Entry) => e.status === "waiting" || e.status === "offered";
  const sorted = [...entries.filter(active), ...entries.filter((e) => !active(e))];
  return (
    <section class="panel" aria-labelledby="my-waitlist">
      <h2 id="my-waitlist">My waitlist</h2>
      {sorted.length === 0 ? (
        <p>You are not waiting for any event.</p>
      ) : (
        <ul class="cards">
          {sorted.map((e) => (
            <li key={e.id} class="card" data-entry-id={e.id}>
              <h3>{e.event ? <Link href={`/events/${e.event_id}`}>{e.event.name}</Link> : e.event_id}</h3>
              {e.event && <p>{when(e.event.starts_at)}</p>}
              <p>
                {e.quantity} seat{e.quantity > 1 ? "s" : ""} ·{" "}
                {e.status === "waiting" ? (
                  <strong>number {e.position} in line</strong>
                ) : e.status === "offered" && e.offer ? (
                  <>
                    <strong>seats held for you</strong> — <Link href={`/offers/${e.offer.claim_url.split("/").pop()}`}>book them</Link>
                  </>
                ) : (
                  <strong>{e.status}</strong>
                )}
              </p>
              {e.status === "waiting" && (
                <button type="button" onClick={() => leave(e)}>
                  Leave the waitlist{e.event ? ` for ${e.event.name}` : ""}
                </button>
              )}
            </li>
          ))}
        </ul>
      )}
      <Failure error={error} />
    </section>
  );
}

function PasswordChange() {
  const [current, setCurrent] = useState("");
  const [next, setNext] = useState("");
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/auth/password", { current_password: current, new_password: next });
      session.clear();
      navigate("/login?changed=1");
    } catch (err) {
      setError(err);
    }
  };
  return (
    <form class="panel" onSubmit={submit} aria-labelledby="pw">
      <h2 id="pw">Change password</h2>
      <p>Every device logged in to this account is logged out.</p>
      <label>
        Current password
        <input type="password" autoComplete="current-password" value={current} onInput={(e) => setCurrent(e.currentTarget.value)} required />
      </label>
      <label>
        New password (8 characters or more)
        <input type="password" autoComplete="new-password" value={next} onInput={(e) => setNext(e.currentTarget.value)} required />
      </label>
      <Failure error={error} />
      <button type="submit">Change password</button>
    </form>
  );
}
