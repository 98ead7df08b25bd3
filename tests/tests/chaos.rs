//! The seed's flows under a storm of AWS faults: with 10–25 % of the
//! DynamoDB requests of each test's table throttled, conflicted, failed or
//! answered too late, SES sends throttled, and the worker crashing between
//! its steps, clients that retry on 429/503 (with their Idempotency-Key)
//! must end up told the truth. Afterwards, with faults off, the ledger is
//! the oracle: no seat sold twice, every buyer told "booked" has exactly
//! that booking and nobody has one they were not told of, every charge is
//! one booking or one refund, every offer emailed exactly once, analytics
//! equal to a recount.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use evently_core::{Arming, BookingStatus};
use evently_http::Config;
use evently_tests::{Options, Stack};
use reqwest::Method;
use serde_json::{json, Value};

/// About a quarter of the table's requests fail (late answers come 1.3 s
/// after the stack's 1 s attempt timeout), a quarter of SES sends are
/// throttled.
fn storm() -> Value {
    evently_local::bench::storm(1_300)
}

async fn stack() -> Stack {
    let stack = Stack::start_opts(Options {
        config: Config {
            request_budget_ms: Some(5_000),
            payment_settle_secs: 10,
            ..Config::default()
        },
        waitlist: Some((
            evently_waitlist::EngineConfig {
                // Longer than a throttled send can take, even on the fast
                // clock below (10 s of real time): a lease that lapses while
                // its email is still being sent lets the sweeper send it too.
                send_lease_secs: 30,
                payment_settle_secs: 10,
                ..Default::default()
            },
            Duration::from_millis(500),
        )),
        sender: format!(
            "offers-{}@evently.test",
            evently_core::new_id().to_lowercase()
        ),
        attempt_timeout_ms: Some(1_000),
        ..Options::default()
    })
    .await;
    // Time moves on its own (three seconds a second), so leases lapse and
    // retries come due while the clients keep trying.
    let clock = stack.clock.clone();
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(1)).await;
            clock.advance(chrono::Duration::seconds(3));
        }
    });
    stack
}

/// A client that retries until it gets an answer that is not "try again":
/// on 429/503 after Retry-After (capped), on a dropped connection at once,
/// always with the same Idempotency-Key.
async fn until_answered(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> (u16, Value) {
    for _ in 0..200 {
        let mut req = stack
            .http
            .request(method.clone(), stack.url(path))
            .bearer_auth(token)
            .timeout(Duration::from_secs(20));
        if let Some(b) = body {
            req = req.json(b);
        }
        if let Some(k) = key {
            req = req.header("idempotency-key", k);
        }
        let Ok(resp) = req.send().await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let status = resp.status().as_u16();
        let retry_after = resp
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let text = resp.text().await.unwrap_or_default();
        let value: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
        assert_ne!(status, 500, "a fault became a 500 on {path}: {value}");
        if status == 429 || status == 503 {
            let secs = retry_after.expect("Retry-After with every 429/503");
            tokio::time::sleep(Duration::from_millis(200 * secs.clamp(1, 5))).await;
            continue;
        }
        return (status, value);
    }
    panic!("{path}: no answer after 200 tries");
}

/// The money oracle of tests/tests/faults.rs, plus: what each buyer was
/// told is what the table holds.
async fn ledger_is_true(stack: &Stack, event_id: &str) {
    let ledger = stack.ledger();
    let bookings = stack
        .oracle
        .event_bookings(event_id)
        .await
        .expect("bookings");
    let mut by_payment = HashMap::new();
    let mut seats = HashMap::new();
    for b in &bookings {
        assert!(
            by_payment.insert(b.payment_id.clone(), b).is_none(),
            "payment shared"
        );
        let charge = ledger
            .charge(&b.payment_id)
            .expect("every booking was charged");
        assert_eq!(charge.amount, b.total_price);
        if b.status == BookingStatus::Confirmed {
            for s in &b.seat_ids {
                assert!(
                    seats.insert(s.to_string(), b.id.clone()).is_none(),
                    "seat {s} sold twice"
                );
            }
        }
    }
    for charge in ledger.charges.values() {
        let refunded = ledger.refunded(&charge.id);
        match by_payment.get(&charge.id) {
            Some(b) if b.status == BookingStatus::Confirmed => assert_eq!(refunded.cents(), 0),
            Some(b) => assert_eq!(refunded, b.refund_amount.unwrap_or_default(), "{}", b.id),
            None => assert_eq!(refunded, charge.amount, "unbooked charge {}", charge.key),
        }
    }
    // Every seat item agrees with the bookings.
    for seat in stack.section_seats(event_id, "A").await {
        let booked = matches!(seat.state, evently_core::SeatState::Booked { .. });
        assert_eq!(
            booked,
            seats.contains_key(&seat.id.to_string()),
            "seat {}",
            seat.id
        );
    }
}

/// The stream-kept counters equal a recount from the items (once the
/// stream has caught up).
async fn analytics_match_a_recount(stack: &Stack, event_id: &str) {
    let event = stack
        .oracle
        .get_event(event_id)
        .await
        .expect("r")
        .expect("e");
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    loop {
        let now = stack.app.clock.now();
        let (counted, _) = stack
            .oracle
            .count_analytics(&event, now)
            .await
            .expect("count");
        let kept = stack
            .oracle
            .event_counters(event_id, now)
            .await
            .expect("read")
            .expect("counters");
        let differ: Vec<String> = counted
            .iter()
            .filter(|(c, v)| kept.get(**c) != **v)
            .map(|(c, v)| format!("{}: kept {} counted {v}", c.attribute(), kept.get(*c)))
            .collect();
        if differ.is_empty() {
            return;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "analytics differ from a recount: {differ:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Settles what the faults left open: payments overdue, emails due.
async fn let_it_settle(stack: &Stack) {
    stack.no_faults().await;
    stack.app.crash.disarm_all();
    stack
        .eventually("no payment attempt left open", 60, || async {
            stack
                .oracle
                .payments_due(stack.app.clock.now() + chrono::Duration::days(1))
                .await
                .expect("read")
                .is_empty()
        })
        .await;
    stack
        .eventually("no email or refund left due", 60, || async {
            let later = stack.app.clock.now() + chrono::Duration::days(1);
            let store = &stack.oracle;
            store.notifications_due(later).await.expect("r").is_empty()
                && store.refunds_due(later).await.expect("r").is_empty()
        })
        .await;
}

#[tokio::test]
async fn a_rush_of_buyers_under_faults_ends_with_a_true_ledger() {
    let stack = Arc::new(stack().await);
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 16, "45.00", "USD").await;
    let mut buyers = Vec::new();
    for i in 0..24 {
        buyers.push(stack.customer(&format!("Buyer{i}")).await);
    }
    // The storm, behind two rules that roll no dice: whatever the
    // scheduling, every 10th transaction's answer is lost after it was
    // applied (the ambiguous write) and every 7th of the rest conflicts.
    // The rush makes at least 32 transactions (24 holds, 8 bookings), so
    // at least 3 and 4 of them.
    let mut rules = vec![
        json!({"fault": "timeout", "operations": ["TransactWriteItems"], "every": 10, "delay_ms": 1_300}),
        json!({"fault": "conflict", "operations": ["TransactWriteItems"], "every": 7}),
    ];
    rules.extend(storm().as_array().cloned().unwrap_or_default());
    stack.faults(11, Value::Array(rules)).await;
    // Three buyers for each pair of seats, all at once.
    let mut tasks = Vec::new();
    for (i, (user_id, token)) in buyers.iter().cloned().enumerate() {
        let stack = stack.clone();
        let event_id = event.id.clone();
        tasks.push(tokio::spawn(async move {
            let pair = i % 8;
            let seats = [
                format!("A-1-{}", 2 * pair + 1),
                format!("A-1-{}", 2 * pair + 2),
            ];
            let body = json!({"event_id": event_id, "section_id": "A", "seat_ids": seats});
            let (status, hold) = until_answered(
                &stack,
                Method::POST,
                "/api/v1/seats/hold",
                &token,
                Some(&body),
                Some(&format!("hold-{i}")),
            )
            .await;
            if status != 201 {
                assert_eq!(status, 409, "{hold}");
                return (user_id, None);
            }
            let confirm =
                json!({"hold_id": hold["hold_id"], "payment_details": {"card_token": "tok_visa"}});
            let (status, booked) = until_answered(
                &stack,
                Method::POST,
                "/api/v1/bookings/confirm",
                &token,
                Some(&confirm),
                Some(&format!("confirm-{i}")),
            )
            .await;
            assert_eq!(status, 201, "a held buyer paying within the hold: {booked}");
            (user_id, booked["booking"]["id"].as_str().map(str::to_owned))
        }));
    }
    let mut told: HashMap<String, Option<String>> = HashMap::new();
    for t in tasks {
        let (user, booking) = t.await.expect("buyer");
        told.insert(user, booking);
    }
    let hits: Vec<u64> = stack
        .rules_here()
        .await
        .iter()
        .map(|r| r["injected"].as_u64().unwrap_or(0))
        .collect();
    assert!(
        hits.len() == 7 && hits[0] >= 3 && hits[1] >= 4 && hits[2..].iter().sum::<u64>() >= 1,
        "the storm hit (faults per rule: lost answers, conflicts, then the storm's): {hits:?}"
    );
    let_it_settle(&stack).await;

    let winners = told.values().filter(|b| b.is_some()).count();
    assert_eq!(winners, 8, "one buyer per pair of seats: {told:?}");
    for (user, booking) in &told {
        let mine: Vec<evently_core::Booking> = stack
            .oracle
            .user_bookings(user)
            .await
            .expect("read")
            .into_iter()
            .filter(|b| b.status == BookingStatus::Confirmed)
            .collect();
        match booking {
            Some(id) => assert_eq!(
                mine.iter().map(|b| b.id.as_str()).collect::<Vec<_>>(),
                [id.as_str()],
                "told booked, holds exactly that booking"
            ),
            None => assert!(mine.is_empty(), "{user} has a booking nobody told them of"),
        }
    }
    ledger_is_true(&stack, &event.id).await;
    analytics_match_a_recount(&stack, &event.id).await;
}

/// The email address of `user_id` (read before the faults start).
async fn email_of(stack: &Stack, user_id: &str) -> String {
    stack
        .oracle
        .get_user(user_id)
        .await
        .expect("read")
        .expect("user")
        .email
}

/// Emails the local mailbox holds for `email`, by subject.
/// The subjects of the emails to `email`, leaving out the confirmations
/// of its own bookings (each booking gets one; these tests count the
/// emails the faults could double or lose).
async fn mail_to(stack: &Stack, email: &str) -> Vec<String> {
    stack
        .mailbox()
        .await
        .iter()
        .filter(|m| m["to"][0] == email)
        .map(|m| m["subject"].as_str().unwrap_or("").to_owned())
        .filter(|s| !s.starts_with("Your tickets for"))
        .collect()
}

#[tokio::test]
async fn the_waitlist_cascade_under_faults_emails_each_offer_exactly_once() {
    let stack = stack().await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 2, "120.00", "USD").await;
    let (_, booker) = stack.customer("Booker").await;
    let mut waiters = Vec::new();
    for i in 0..4 {
        let (user_id, token) = stack.customer(&format!("Waiter{i}")).await;
        let email = email_of(&stack, &user_id).await;
        waiters.push((user_id, email, token));
    }
    stack.faults(12, storm()).await;
    stack.app.crash.arm("worker.after_offer", Arming::Rate(0.3));
    stack.app.crash.arm("email.before_send", Arming::Rate(0.2));

    let body = json!({"event_id": event.id, "section_id": "A", "seat_ids": ["A-1-1", "A-1-2"]});
    let (status, hold) = until_answered(
        &stack,
        Method::POST,
        "/api/v1/seats/hold",
        &booker,
        Some(&body),
        Some("h"),
    )
    .await;
    assert_eq!(status, 201, "{hold}");
    let confirm =
        json!({"hold_id": hold["hold_id"], "payment_details": {"card_token": "tok_visa"}});
    let (status, booked) = until_answered(
        &stack,
        Method::POST,
        "/api/v1/bookings/confirm",
        &booker,
        Some(&confirm),
        Some("c"),
    )
    .await;
    assert_eq!(status, 201, "{booked}");
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    for (i, (_, _, token)) in waiters.iter().enumerate() {
        let join = json!({"event_id": event.id, "quantity": 2});
        let (status, entry) = until_answered(
            &stack,
            Method::POST,
            "/api/v1/waitlist/join",
            token,
            Some(&join),
            Some(&format!("join-{i}")),
        )
        .await;
        assert_eq!(status, 201, "{entry}");
    }
    let cancel = format!("/api/v1/bookings/{booking}/cancel");
    let (status, body) = until_answered(&stack, Method::DELETE, &cancel, &booker, None, None).await;
    assert!(
        status == 200 || (status == 409 && body["booking"]["status"] == "cancelled"),
        "{body}"
    );

    // Each waiter in turn is offered both seats, lets the offer run out,
    // and the seats cascade to the next.
    let status_path = format!("/api/v1/waitlist/status/{}", event.id);
    for (i, (_, email, token)) in waiters.iter().enumerate() {
        stack
            .eventually(&format!("waiter {i} offered"), 90, || async {
                let (s, b) =
                    until_answered(&stack, Method::GET, &status_path, token, None, None).await;
                s == 200 && b["entry"]["status"] == "offered"
            })
            .await;
        // The email may need a retry or two (throttled, or its sender
        // crashed); the offer runs out only after it went.
        stack
            .eventually(&format!("waiter {i}'s offer email"), 90, || async {
                !mail_to(&stack, email).await.is_empty()
            })
            .await;
        stack.clock.advance(chrono::Duration::seconds(901));
        stack
            .eventually(&format!("waiter {i}'s offer expired"), 90, || async {
                let (_, b) =
                    until_answered(&stack, Method::GET, &status_path, token, None, None).await;
                b["entry"]["status"] == "expired"
            })
            .await;
    }
    let_it_settle(&stack).await;
    stack
        .eventually("the seats back on sale", 60, || async {
            let (_, avail) = stack
                .get(
                    &format!("/api/v1/events/{}/seats/available", event.id),
                    None,
                )
                .await;
            avail["total_available"] == 2
        })
        .await;
    for (user_id, email, _) in &waiters {
        let subjects = mail_to(&stack, email).await;
        assert_eq!(subjects.len(), 1, "exactly one offer email: {subjects:?}");
        let notes = stack
            .oracle
            .user_notifications(user_id)
            .await
            .expect("read");
        assert_eq!(notes.len(), 1);
        assert_eq!(notes[0].status, evently_core::NotificationStatus::Sent);
    }
    ledger_is_true(&stack, &event.id).await;
    analytics_match_a_recount(&stack, &event.id).await;
}

#[tokio::test]
async fn an_event_cancellation_under_faults_refunds_and_tells_everyone_once() {
    let stack = stack().await;
    let (org_id, org) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 1, 10, "35.00", "USD").await;
    let mut holders = Vec::new();
    for i in 0..10 {
        let (user_id, token) = stack.customer(&format!("Fan{i}")).await;
        let (_, hold) = stack
            .hold(&token, &event.id, "A", &[&format!("A-1-{}", i + 1)])
            .await;
        let (status, _) = stack
            .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
            .await;
        assert_eq!(status, 201);
        holders.push(email_of(&stack, &user_id).await);
    }
    let mut waiters = Vec::new();
    for i in 0..3 {
        let (user_id, token) = stack.customer(&format!("Waiter{i}")).await;
        let join = json!({"event_id": event.id, "quantity": 1});
        assert_eq!(
            stack
                .post_as(&token, "/api/v1/waitlist/join", &join, None)
                .await
                .0,
            201
        );
        waiters.push(email_of(&stack, &user_id).await);
    }
    stack.faults(13, storm()).await;
    stack
        .app
        .crash
        .arm("cancel_job.after_booking", Arming::Rate(0.2));
    stack.app.crash.arm("email.before_send", Arming::Rate(0.1));
    let (status, body) = until_answered(
        &stack,
        Method::PATCH,
        &format!("/api/v1/admin/events/{}", event.id),
        &org,
        Some(&json!({"status": "cancelled"})),
        None,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    stack
        .eventually("every booking cancelled", 120, || async {
            let bookings = stack
                .oracle
                .event_bookings(&event.id)
                .await
                .unwrap_or_default();
            bookings.len() == 10
                && bookings
                    .iter()
                    .all(|b| b.status == BookingStatus::Cancelled)
        })
        .await;
    let_it_settle(&stack).await;
    stack
        .eventually("every waiter told", 60, || async {
            let mut all = true;
            for w in &waiters {
                all &= mail_to(&stack, w).await.len() == 1;
            }
            all
        })
        .await;
    let ledger = stack.ledger();
    assert_eq!(ledger.refunds.len(), 10, "one refund per booking");
    for b in stack
        .oracle
        .event_bookings(&event.id)
        .await
        .expect("bookings")
    {
        assert_eq!(
            ledger.refunded(&b.payment_id),
            b.total_price,
            "refunded in full"
        );
    }
    for h in &holders {
        assert_eq!(
            mail_to(&stack, h).await.len(),
            1,
            "one cancellation email each"
        );
    }
    for w in &waiters {
        assert_eq!(
            mail_to(&stack, w).await.len(),
            1,
            "one waitlist-closed email each"
        );
    }
    ledger_is_true(&stack, &event.id).await;
    analytics_match_a_recount(&stack, &event.id).await;
}
