//! Analytics counters under redelivery, against the local DynamoDB: the
//! stream delivers records at least once, in batches that Lambda may split
//! (bisect) or repeat; the counters must count each record exactly once.

use evently_analytics::{project, Counter, Record};
use evently_store::Applicable;
use evently_tests::Stack;
use serde_json::{json, Value};

/// A small pseudo-random generator, so each schedule is reproducible.
struct Lcg(u64);
impl Lcg {
    fn next(&mut self, below: usize) -> usize {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        ((self.0 >> 33) as usize) % below.max(1)
    }
}

fn records(event_id: &str) -> Vec<Applicable> {
    let seat = |status: &str| json!({"entity": "seat", "event_id": event_id, "status": status});
    let booking = |status: &str, refund: Option<&str>| {
        let mut b = json!({"entity": "booking", "id": "B1", "event_id": event_id,
            "status": status, "total_price": "30.00"});
        if let Some(r) = refund {
            b["refund_amount"] = json!(r);
        }
        b
    };
    let hold = |status: &str, id: &str| {
        json!({"entity": "hold", "id": id, "event_id": event_id,
        "status": status, "seat_ids": ["A-1-1", "A-1-2"], "expires_at_epoch": 4_000_000_000i64})
    };
    let changes = vec![
        (None, Some(hold("active", "H1"))),
        (Some(seat("available")), Some(seat("held"))),
        (Some(seat("held")), Some(seat("booked"))),
        (Some(hold("active", "H1")), Some(hold("confirmed", "H1"))),
        (None, Some(booking("confirmed", None))),
        (None, Some(hold("active", "H2"))),
        (Some(seat("available")), Some(seat("booked"))),
        (
            Some(booking("confirmed", None)),
            Some(booking("cancelled", Some("27.00"))),
        ),
        (Some(seat("booked")), Some(seat("reserved"))),
        (
            None,
            Some(json!({"entity": "waitlist_entry", "event_id": event_id, "status": "waiting"})),
        ),
    ];
    changes
        .into_iter()
        .enumerate()
        .filter_map(|(i, (old, new))| {
            let r = Record {
                id: format!("{event_id}-rec-{i}"),
                sequence_number: i.to_string(),
                at: 1_800_000_000,
                old,
                new,
            };
            // Records that change no counter (a seat becoming held) are
            // never applied: nothing to count.
            project(&r).map(|effects| Applicable {
                record_id: r.id.clone(),
                at: r.at,
                effects,
            })
        })
        .collect()
}

#[tokio::test]
async fn redelivered_and_resplit_batches_count_once() {
    let stack = Stack::start(Some(evently_local::seed::SeedSize::Small)).await;
    let now = stack.app.clock.now();
    for seed in 1..=6u64 {
        // A fresh event per schedule: counters start at zero.
        let event_id = stack.event_id(evently_tests::DEMO_NIGHT);
        let event_id = format!("{event_id}{seed}");
        let mut event = stack
            .app
            .store
            .get_event(&stack.event_id(evently_tests::DEMO_NIGHT))
            .await
            .expect("read")
            .expect("demo");
        event.id = event_id.clone();
        stack.app.store.create_event(&event).await.expect("event");
        let all = records(&event_id);
        let mut rng = Lcg(seed);
        // Deliver: random batches, each possibly delivered again, and
        // sometimes an overlapping window of earlier records (a retry from
        // an earlier sequence number).
        let mut at = 0;
        while at < all.len() {
            let size = 1 + rng.next(4);
            let end = (at + size).min(all.len());
            let times = 1 + rng.next(3);
            for _ in 0..times {
                stack
                    .app
                    .store
                    .apply_analytics(&all[at..end])
                    .await
                    .expect("apply");
            }
            if at > 0 && rng.next(2) == 0 {
                let from = rng.next(at);
                stack
                    .app
                    .store
                    .apply_analytics(&all[from..end])
                    .await
                    .expect("apply");
            }
            at = end;
        }
        let c = stack
            .app
            .store
            .event_counters(&event_id, now)
            .await
            .expect("read")
            .expect("counters");
        let got: Vec<i64> = [
            Counter::Sold,
            Counter::Reserved,
            Counter::Bookings,
            Counter::SalesCents,
            Counter::Cancellations,
            Counter::RefundsCents,
            Counter::WaitlistWaiting,
        ]
        .iter()
        .map(|k| c.get(*k))
        .collect();
        assert_eq!(got, [1, 1, 1, 3_000, 1, 2_700, 1], "schedule {seed}");
        assert_eq!(c.held, 2, "H2 is live, H1 ended (schedule {seed})");
        // Applying everything once more changes nothing.
        assert_eq!(
            stack.app.store.apply_analytics(&all).await.expect("apply"),
            0
        );
    }
}

// The seat map's marks, from the seats' own stream records.

fn seat_record(old: Option<Value>, new: Option<Value>) -> Record {
    Record {
        id: "r".into(),
        sequence_number: "1".into(),
        at: 0,
        old,
        new,
    }
}

fn seat(status: &str) -> Value {
    json!({"entity": "seat", "event_id": "E", "seat_id": "A-2-7", "status": status,
           "hold_expires_at": 1_900_000_000})
}

#[test]
fn a_seats_record_marks_its_seat_on_the_map() {
    let mark = |r: &Record| {
        analytics_stream::seat_mark(r).map(|c| (c.event_id, c.seat.to_string(), c.mark))
    };
    let held = seat_record(Some(seat("available")), Some(seat("held")));
    assert_eq!(
        mark(&held),
        Some(("E".into(), "A-2-7".into(), Some(1_900_000_000)))
    );
    let booked = seat_record(Some(seat("held")), Some(seat("booked")));
    assert_eq!(mark(&booked).and_then(|m| m.2), Some(0));
    let reserved = seat_record(None, Some(seat("reserved")));
    assert_eq!(mark(&reserved).and_then(|m| m.2), Some(-1));
    let freed = seat_record(Some(seat("held")), Some(seat("available")));
    assert_eq!(mark(&freed).map(|m| m.2), Some(None));
    let deleted = seat_record(Some(seat("held")), None);
    assert_eq!(mark(&deleted).map(|m| m.2), Some(None));
    // Nothing to draw differently: a seat created free, rewritten free (a
    // draft repriced), or deleted while free.
    let created = seat_record(None, Some(seat("available")));
    let rewritten = seat_record(Some(seat("available")), Some(seat("available")));
    let dropped = seat_record(Some(seat("available")), None);
    for r in [&created, &rewritten, &dropped] {
        assert_eq!(mark(r), None, "{r:?}");
    }
    let hold = seat_record(None, Some(json!({"entity": "hold", "event_id": "E"})));
    assert_eq!(mark(&hold), None);
}
