//! What the table's stream means for organizers. Each stream record (old and
//! new image of one item) becomes:
//! - counter deltas for its event's analytics item (`project`), and
//! - at most one domain event for the EventBridge bus (`domain_event`).
//!
//! Both are pure functions of the record, so a redelivered record yields the
//! same deltas; the store applies them once per record id (see
//! `evently_store::analytics`), which makes the counters exactly-once on top
//! of the stream's at-least-once delivery.

use serde::Serialize;
use serde_json::{json, Value};

/// One stream record as the projector sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The stream's `eventID`: unique per change, the same on redelivery.
    pub id: String,
    pub sequence_number: String,
    /// When DynamoDB recorded the change (epoch seconds).
    pub at: i64,
    pub old: Option<Value>,
    pub new: Option<Value>,
}

/// The counters of an event's analytics item. Names are attribute names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Counter {
    /// Seats booked now.
    Sold,
    /// Seats waiting for the waitlist worker (not on sale, not held).
    Reserved,
    /// Bookings ever confirmed.
    Bookings,
    /// Sum paid for confirmed bookings, in cents.
    SalesCents,
    /// Bookings cancelled (by their owner, or by the event's cancellation).
    Cancellations,
    /// Sum refunded, in cents.
    RefundsCents,
    /// Waitlist entries waiting now.
    WaitlistWaiting,
    /// Offers ever made, and how they ended.
    OffersMade,
    OffersTaken,
    OffersExpired,
    OffersWithdrawn,
    /// Tickets scanned in at the door (each once).
    CheckedIn,
}

impl Counter {
    pub const ALL: [Counter; 12] = [
        Counter::Sold,
        Counter::Reserved,
        Counter::Bookings,
        Counter::SalesCents,
        Counter::Cancellations,
        Counter::RefundsCents,
        Counter::WaitlistWaiting,
        Counter::OffersMade,
        Counter::OffersTaken,
        Counter::OffersExpired,
        Counter::OffersWithdrawn,
        Counter::CheckedIn,
    ];

    pub fn attribute(self) -> &'static str {
        match self {
            Counter::Sold => "sold",
            Counter::Reserved => "reserved",
            Counter::Bookings => "bookings",
            Counter::SalesCents => "sales_cents",
            Counter::Cancellations => "cancellations",
            Counter::RefundsCents => "refunds_cents",
            Counter::WaitlistWaiting => "waitlist_waiting",
            Counter::OffersMade => "offers_made",
            Counter::OffersTaken => "offers_taken",
            Counter::OffersExpired => "offers_expired",
            Counter::OffersWithdrawn => "offers_withdrawn",
            Counter::CheckedIn => "checked_in",
        }
    }
}

/// A live hold, counted as held until it ends or its time runs out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveHold {
    pub hold_id: String,
    pub seats: i64,
    pub expires_at: i64,
}

/// What one record changes in one event's analytics.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    pub event_id: String,
    pub counts: Vec<(Counter, i64)>,
    /// A hold started (put its marker).
    pub hold_started: Option<LiveHold>,
    /// A hold ended early (confirmed or released): remove its marker.
    pub hold_ended: Option<LiveHold>,
}

impl Effects {
    pub fn is_empty(&self) -> bool {
        self.counts.iter().all(|(_, by)| *by == 0)
            && self.hold_started.is_none()
            && self.hold_ended.is_none()
    }
}

fn text<'a>(image: Option<&'a Value>, field: &str) -> Option<&'a str> {
    image?.get(field)?.as_str()
}

fn number(image: Option<&Value>, field: &str) -> Option<i64> {
    let v = image?.get(field)?;
    v.as_i64().or_else(|| v.as_str()?.parse().ok())
}

/// Money strings ("120.00") to cents; anything else counts as zero.
fn cents(image: Option<&Value>, field: &str) -> i64 {
    let Some(s) = text(image, field) else {
        return 0;
    };
    let (whole, frac) = s.split_once('.').unwrap_or((s, "0"));
    let whole: i64 = whole.parse().unwrap_or(0);
    let frac: i64 = format!("{frac:0<2}")[..2].parse().unwrap_or(0);
    whole * 100 + frac
}

fn entity(r: &Record) -> Option<&str> {
    text(r.new.as_ref(), "entity").or_else(|| text(r.old.as_ref(), "entity"))
}

fn is(image: Option<&Value>, status: &str) -> bool {
    text(image, "status") == Some(status)
}

/// +1 when the item entered `status`, -1 when it left it, 0 otherwise.
fn gauge(r: &Record, status: &str) -> i64 {
    i64::from(is(r.new.as_ref(), status)) - i64::from(is(r.old.as_ref(), status))
}

/// +1 when the item moved from `from` into `to` (or was created in `to`
/// when `from` is None).
fn entered(r: &Record, from: Option<&str>, to: &str) -> i64 {
    let was = match from {
        Some(f) => is(r.old.as_ref(), f),
        None => r.old.is_none(),
    };
    i64::from(was && is(r.new.as_ref(), to))
}

fn live_hold(image: Option<&Value>) -> Option<LiveHold> {
    let seats = image?.get("seat_ids")?.as_array()?.len() as i64;
    Some(LiveHold {
        hold_id: text(image, "id")?.to_owned(),
        seats,
        expires_at: number(image, "expires_at_epoch")?,
    })
}

/// The analytics effects of one record, or None when it changes nothing.
pub fn project(r: &Record) -> Option<Effects> {
    let image = r.new.as_ref().or(r.old.as_ref());
    let event_id = text(image, "event_id")?.to_owned();
    let mut fx = Effects {
        event_id,
        ..Effects::default()
    };
    match entity(r)? {
        "seat" => {
            fx.counts.push((Counter::Sold, gauge(r, "booked")));
            fx.counts.push((Counter::Reserved, gauge(r, "reserved")));
        }
        "hold" => {
            if entered(r, None, "active") == 1 {
                fx.hold_started = live_hold(r.new.as_ref());
            } else if is(r.old.as_ref(), "active") && !is(r.new.as_ref(), "active") {
                fx.hold_ended = live_hold(r.old.as_ref());
            }
        }
        "booking" => {
            if entered(r, None, "confirmed") == 1 {
                fx.counts.push((Counter::Bookings, 1));
                fx.counts
                    .push((Counter::SalesCents, cents(r.new.as_ref(), "total_price")));
            }
            if entered(r, Some("confirmed"), "cancelled") == 1 {
                fx.counts.push((Counter::Cancellations, 1));
                fx.counts.push((
                    Counter::RefundsCents,
                    cents(r.new.as_ref(), "refund_amount"),
                ));
            }
            // A check-in adds a ticket to the map; nothing takes one away.
            let scanned = |image: Option<&Value>| {
                image
                    .and_then(|i| i.get("checked_in"))
                    .and_then(Value::as_object)
                    .map_or(0, |m| m.len() as i64)
            };
            let added = scanned(r.new.as_ref()) - scanned(r.old.as_ref());
            if added > 0 {
                fx.counts.push((Counter::CheckedIn, added));
            }
        }
        "waitlist_entry" => {
            fx.counts
                .push((Counter::WaitlistWaiting, gauge(r, "waiting")));
        }
        "offer" => {
            fx.counts
                .push((Counter::OffersMade, entered(r, None, "open")));
            for (status, counter) in [
                ("taken", Counter::OffersTaken),
                ("expired", Counter::OffersExpired),
                ("withdrawn", Counter::OffersWithdrawn),
            ] {
                fx.counts.push((counter, entered(r, Some("open"), status)));
            }
        }
        _ => return None,
    }
    fx.counts.retain(|(_, by)| *by != 0);
    (!fx.is_empty()).then_some(fx)
}

/// A domain event for the bus: `detail_type` names it, `detail` carries the
/// documented fields (docs/events.md) plus `id` (the stream record's id:
/// the same on redelivery, so consumers can drop duplicates) and
/// `occurred_at`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainEvent {
    pub detail_type: &'static str,
    pub detail: Value,
}

/// Where every domain event says it comes from.
pub const SOURCE: &str = "evently";

fn pick(image: Option<&Value>, fields: &[&str]) -> serde_json::Map<String, Value> {
    fields
        .iter()
        .filter_map(|f| Some(((*f).to_owned(), image?.get(*f)?.clone())))
        .collect()
}

/// The domain event one record announces, if any.
pub fn domain_event(r: &Record) -> Option<DomainEvent> {
    let new = r.new.as_ref();
    let (detail_type, mut detail) = match entity(r)? {
        "booking" if entered(r, None, "confirmed") == 1 => (
            "BookingConfirmed",
            pick(
                new,
                &[
                    "event_id",
                    "user_id",
                    "section_id",
                    "seat_ids",
                    "total_price",
                    "created_at",
                ],
            ),
        ),
        "booking" if entered(r, Some("confirmed"), "cancelled") == 1 => (
            "BookingCancelled",
            pick(
                new,
                &[
                    "event_id",
                    "user_id",
                    "section_id",
                    "seat_ids",
                    "total_price",
                    "refund_amount",
                    "cancellation_fee",
                    "cancelled_at",
                ],
            ),
        ),
        "waitlist_entry" if r.old.is_none() && new.is_some() => (
            "WaitlistJoined",
            pick(
                new,
                &[
                    "event_id",
                    "user_id",
                    "quantity",
                    "preferences",
                    "joined_at",
                ],
            ),
        ),
        // The claim token is the claim link's credential: never published.
        "offer" if entered(r, None, "open") == 1 => (
            "WaitlistOfferCreated",
            pick(
                new,
                &[
                    "event_id",
                    "user_id",
                    "entry_id",
                    "hold_id",
                    "section_id",
                    "seat_ids",
                    "total_price",
                    "expires_at",
                ],
            ),
        ),
        "offer" if entered(r, Some("open"), "expired") == 1 => (
            "WaitlistOfferExpired",
            pick(
                new,
                &[
                    "event_id",
                    "user_id",
                    "entry_id",
                    "hold_id",
                    "section_id",
                    "seat_ids",
                ],
            ),
        ),
        "event" if is(new, "published") && !is(r.old.as_ref(), "published") => (
            "EventPublished",
            pick(new, &["name", "starts_at", "ends_at", "owner_id", "venue"]),
        ),
        "event" if is(new, "cancelled") && !is(r.old.as_ref(), "cancelled") => (
            "EventCancelled",
            pick(new, &["name", "starts_at", "owner_id", "cancelled_at"]),
        ),
        _ => return None,
    };
    let subject_id = text(new, "id").unwrap_or_default().to_owned();
    let id_field = match detail_type {
        "BookingConfirmed" | "BookingCancelled" => "booking_id",
        "WaitlistJoined" => "entry_id",
        "WaitlistOfferCreated" | "WaitlistOfferExpired" => "offer_id",
        _ => "event_id",
    };
    if id_field == "offer_id" {
        // Offers are known to the outside by their hold id.
        let hold = text(new, "hold_id").unwrap_or_default().to_owned();
        detail.insert("offer_id".into(), json!(hold));
    } else {
        detail.insert(id_field.into(), json!(subject_id));
    }
    detail.insert("id".into(), json!(r.id));
    detail.insert("occurred_at".into(), json!(r.at));
    Some(DomainEvent {
        detail_type,
        detail: Value::Object(detail),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn rec(old: Option<Value>, new: Option<Value>) -> Record {
        Record {
            id: "r1".into(),
            sequence_number: "1".into(),
            at: 1_800_000_000,
            old,
            new,
        }
    }

    fn seat(status: &str) -> Value {
        json!({"entity": "seat", "event_id": "E", "status": status})
    }

    fn counts(fx: &Option<Effects>) -> Vec<(Counter, i64)> {
        fx.as_ref().map(|f| f.counts.clone()).unwrap_or_default()
    }

    #[test]
    fn bookings_count_sales_and_refunds() {
        let confirmed = json!({"entity": "booking", "id": "B", "event_id": "E",
            "status": "confirmed", "total_price": "240.50", "seat_ids": ["A-1-1"]});
        let mut cancelled = confirmed.clone();
        cancelled["status"] = json!("cancelled");
        cancelled["refund_amount"] = json!("216.45");
        assert_eq!(
            counts(&project(&rec(None, Some(confirmed.clone())))),
            [(Counter::Bookings, 1), (Counter::SalesCents, 24_050)]
        );
        assert_eq!(
            counts(&project(&rec(
                Some(confirmed.clone()),
                Some(cancelled.clone())
            ))),
            [(Counter::Cancellations, 1), (Counter::RefundsCents, 21_645)]
        );
        // A rewrite of an already-cancelled booking changes nothing.
        assert_eq!(
            project(&rec(Some(cancelled.clone()), Some(cancelled))),
            None
        );
        let ev = domain_event(&rec(None, Some(confirmed))).expect("event");
        assert_eq!(ev.detail_type, "BookingConfirmed");
        assert_eq!(ev.detail["booking_id"], "B");
        assert_eq!(ev.detail["id"], "r1");
    }

    #[test]
    fn holds_start_and_end_live_markers() {
        let active = json!({"entity": "hold", "id": "H", "event_id": "E", "status": "active",
            "seat_ids": ["A-1-1", "A-1-2"], "expires_at_epoch": 1_800_000_600});
        let mut done = active.clone();
        done["status"] = json!("confirmed");
        let started = project(&rec(None, Some(active.clone()))).expect("effects");
        assert_eq!(
            started.hold_started,
            Some(LiveHold {
                hold_id: "H".into(),
                seats: 2,
                expires_at: 1_800_000_600
            })
        );
        let ended = project(&rec(Some(active), Some(done))).expect("effects");
        assert_eq!(ended.hold_ended.map(|h| h.hold_id), Some("H".into()));
    }

    #[test]
    fn offers_are_announced_without_their_claim_token() {
        let open = json!({"entity": "offer", "claim_token": "secret", "hold_id": "H",
            "event_id": "E", "status": "open", "entry_id": "W"});
        let ev = domain_event(&rec(None, Some(open.clone()))).expect("event");
        assert_eq!(ev.detail_type, "WaitlistOfferCreated");
        assert!(!ev.detail.to_string().contains("secret"));
        let mut expired = open.clone();
        expired["status"] = json!("expired");
        assert_eq!(
            counts(&project(&rec(Some(open.clone()), Some(expired.clone())))),
            [(Counter::OffersExpired, 1)]
        );
        assert_eq!(
            domain_event(&rec(Some(open), Some(expired))).map(|e| e.detail_type),
            Some("WaitlistOfferExpired")
        );
    }

    #[test]
    fn unrelated_items_project_nothing() {
        let guard = json!({"entity": "hold_guard", "event_id": "E"});
        assert_eq!(project(&rec(None, Some(guard.clone()))), None);
        assert_eq!(domain_event(&rec(None, Some(guard))), None);
        assert_eq!(project(&rec(Some(seat("held")), Some(seat("held")))), None);
    }

    const STATES: [&str; 4] = ["available", "held", "booked", "reserved"];

    proptest! {
        /// Whatever path seats take, the summed deltas equal the seats
        /// booked (and reserved) at the end: the counters never drift.
        #[test]
        fn seat_deltas_sum_to_the_final_state(
            paths in proptest::collection::vec(proptest::collection::vec(0usize..4, 0..12), 1..20)
        ) {
            let (mut sold, mut reserved) = (0i64, 0i64);
            let (mut booked_now, mut reserved_now) = (0i64, 0i64);
            for path in &paths {
                let mut state = "available";
                for &next in path {
                    let to = STATES[next];
                    for (c, by) in counts(&project(&rec(Some(seat(state)), Some(seat(to))))) {
                        match c {
                            Counter::Sold => sold += by,
                            Counter::Reserved => reserved += by,
                            other => prop_assert!(false, "seat moved {other:?}"),
                        }
                    }
                    state = to;
                }
                booked_now += i64::from(state == "booked");
                reserved_now += i64::from(state == "reserved");
            }
            prop_assert_eq!(sold, booked_now);
            prop_assert_eq!(reserved, reserved_now);
        }
    }
}
