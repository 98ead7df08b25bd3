//! Right answers when AWS misbehaves. Each test switches faults on in the
//! local AWS endpoint for its own table (and SES sender) only — throttling,
//! transaction conflicts, 500s, answers that come after the client gave up
//! — or crashes a flow between two of its steps, and checks what a user
//! would notice: every request either did its work and said so, or said
//! "try again" (429/503 with Retry-After); money ends as exactly one
//! booking or one refund per charge; nothing stays stuck.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use evently_core::{Arming, AttemptStatus, BookingStatus};
use evently_http::Config;
use evently_tests::{Options, Stack};
use reqwest::Method;
use serde_json::{json, Value};

fn sender() -> String {
    format!(
        "offers-{}@evently.test",
        evently_core::new_id().to_lowercase()
    )
}

/// Short budgets, so the tests see leases and settlements come due.
fn config() -> Config {
    Config {
        request_budget_ms: Some(4_000),
        payment_settle_secs: 5,
        ..Config::default()
    }
}

fn engine() -> evently_waitlist::EngineConfig {
    evently_waitlist::EngineConfig {
        send_lease_secs: 2,
        payment_settle_secs: 5,
        ..Default::default()
    }
}

/// A stack for fault tests: attempts time out after 1 s, and with
/// `sweep` the waitlist's event sources run with the sweeper every `sweep`.
async fn stack(sweep: Option<Duration>) -> Stack {
    Stack::start_opts(Options {
        config: config(),
        waitlist: sweep.map(|every| (engine(), every)),
        sender: sender(),
        attempt_timeout_ms: Some(1_000),
        ..Options::default()
    })
    .await
}

/// A call whose transport may fail (a crashed request drops its
/// connection): status, Retry-After and body, or the transport error.
async fn call(
    stack: &Stack,
    method: Method,
    path: &str,
    token: &str,
    body: Option<&Value>,
    key: Option<&str>,
) -> Result<(u16, Option<u64>, Value), String> {
    let mut req = stack
        .http
        .request(method, stack.url(path))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(b);
    }
    if let Some(k) = key {
        req = req.header("idempotency-key", k);
    }
    let resp = req.send().await.map_err(|e| e.to_string())?;
    let status = resp.status().as_u16();
    let retry_after = resp
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok());
    let text = resp.text().await.map_err(|e| e.to_string())?;
    let body = if text.is_empty() {
        Value::Null
    } else {
        serde_json::from_str(&text).map_err(|e| format!("{e}: {text}"))?
    };
    if status == 429 || status == 503 {
        assert!(
            retry_after.is_some(),
            "{status} without Retry-After: {body}"
        );
    }
    Ok((status, retry_after, body))
}

fn confirm_body(hold_id: &str, card: &str) -> Value {
    json!({"hold_id": hold_id, "payment_details": {"card_token": card}})
}

/// A hold of `seats` of section A by `token`, asserted to succeed.
async fn hold(stack: &Stack, token: &str, event: &str, seats: &[&str]) -> Value {
    let (status, body) = stack.hold(token, event, "A", seats).await;
    assert_eq!(status, 201, "{body}");
    body
}

/// The money oracle: every charge the simulator made belongs to exactly
/// one booking (and is refunded exactly as that booking's cancellation
/// says — or, refunds being paid after the cancellation's answer, still
/// recorded as owed for that amount) or was refunded in full; every
/// booking was paid by a charge of its own; no seat is in two live
/// bookings.
async fn ledger_is_true(stack: &Stack, event_ids: &[&str]) {
    let ledger = stack.ledger();
    let mut bookings = Vec::new();
    for id in event_ids {
        bookings.extend(stack.oracle.event_bookings(id).await.expect("bookings"));
    }
    let mut by_payment: HashMap<&str, &evently_core::Booking> = HashMap::new();
    let mut seats: HashMap<String, &str> = HashMap::new();
    for b in &bookings {
        assert!(
            by_payment.insert(&b.payment_id, b).is_none(),
            "two bookings share payment {}",
            b.payment_id
        );
        let charge = ledger
            .charge(&b.payment_id)
            .unwrap_or_else(|| panic!("booking {} was never charged", b.id));
        assert_eq!(charge.amount, b.total_price, "booking {} charged", b.id);
        if b.status == BookingStatus::Confirmed {
            for seat in &b.seat_ids {
                let other = seats.insert(format!("{}/{seat}", b.event_id), &b.id);
                assert!(other.is_none(), "seat {seat} in two bookings");
            }
        }
    }
    for charge in ledger.charges.values() {
        let refunded = ledger.refunded(&charge.id);
        match by_payment.get(charge.id.as_str()) {
            Some(b) if b.status == BookingStatus::Confirmed => {
                assert_eq!(refunded.cents(), 0, "confirmed booking {} refunded", b.id)
            }
            Some(b) => {
                let due = b.refund_amount.unwrap_or_default();
                if refunded != due {
                    let owed = stack.oracle.refund_due(&b.id).await.expect("read");
                    assert_eq!(
                        (refunded.cents(), owed.map(|o| o.amount)),
                        (0, Some(due)),
                        "cancelled booking {} neither refunded nor owed its refund",
                        b.id
                    );
                }
            }
            None => assert_eq!(
                refunded, charge.amount,
                "charge {} bought nothing and must be refunded in full",
                charge.key
            ),
        }
    }
}

#[tokio::test]
async fn conflicts_on_a_hold_are_retried_never_answered_as_taken() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 6, "50.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;

    // Two conflicting transactions in a row: the hold still goes through.
    stack
        .faults(
            1,
            json!([{"fault": "conflict", "operations": ["TransactWriteItems"], "count": 2}]),
        )
        .await;
    let body = hold(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;
    assert_eq!(body["seat_ids"], json!(["A-1-1", "A-1-2"]));

    // Conflicts that never stop: "try again", and nothing was taken.
    stack
        .faults(
            2,
            json!([{"fault": "conflict", "operations": ["TransactWriteItems"]}]),
        )
        .await;
    let path = "/api/v1/seats/hold";
    let req = json!({"event_id": event.id, "section_id": "A", "seat_ids": ["A-1-3"]});
    let (status, retry_after, problem) = call(&stack, Method::POST, path, &ada, Some(&req), None)
        .await
        .expect("answered");
    assert_eq!(status, 503, "{problem}");
    assert!(retry_after >= Some(1));
    assert!(problem.get("conflicting_seat_ids").is_none(), "{problem}");
    stack.no_faults().await;
    assert_eq!(stack.hold(&bob, &event.id, "A", &["A-1-3"]).await.0, 201);
    // Ada's first hold stands; Bob cannot have those seats.
    assert_eq!(stack.hold(&bob, &event.id, "A", &["A-1-1"]).await.0, 409);
}

#[tokio::test]
async fn throttling_everywhere_is_503_with_retry_after_within_the_budget() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "50.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    stack
        .faults(3, json!([{"fault": "throttle", "rate": 1.0}]))
        .await;
    let started = std::time::Instant::now();
    let req = json!({"event_id": event.id, "section_id": "A", "seat_ids": ["A-1-1"]});
    let (status, retry_after, body) = call(
        &stack,
        Method::POST,
        "/api/v1/seats/hold",
        &ada,
        Some(&req),
        None,
    )
    .await
    .expect("answered");
    assert_eq!((status, retry_after), (503, Some(1)), "{body}");
    // The request gave up within its budget (4 s here; API Gateway allows 30).
    assert!(
        started.elapsed() < Duration::from_secs(6),
        "{:?}",
        started.elapsed()
    );
    stack.no_faults().await;
    let (status, _) = stack.hold(&ada, &event.id, "A", &["A-1-1"]).await;
    assert_eq!(status, 201, "nothing was left half-done");
}

#[tokio::test]
async fn a_confirm_whose_transaction_conflicts_books_once_and_never_claims_the_event_closed() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "75.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;
    let hold_id = held["hold_id"].as_str().expect("hold");
    stack
        .faults(
            4,
            json!([{"fault": "conflict", "operations": ["TransactWriteItems"], "count": 3}]),
        )
        .await;
    let (status, booked) = stack.confirm(&ada, hold_id, "tok_visa").await;
    assert_eq!(status, 201, "{booked}");
    stack.no_faults().await;
    let ledger = stack.ledger();
    assert_eq!(ledger.charges.len(), 1);
    assert!(ledger.refunds.is_empty(), "nothing refunded: {ledger:?}");
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn a_cancel_whose_transaction_conflicts_cancels_and_refunds_never_blaming_the_organizer() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "40.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1"]).await;
    let (_, booked) = stack
        .confirm(&ada, held["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    stack
        .faults(
            5,
            json!([{"fault": "conflict", "operations": ["TransactWriteItems"], "count": 2}]),
        )
        .await;
    let (status, body) = stack
        .delete_as(&ada, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["booking"]["status"], "cancelled");
    assert_eq!(body["booking"]["refund_amount"], "40.00");
    stack.no_faults().await;
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn a_confirm_that_dies_after_charging_is_booked_by_the_sweeper_while_the_hold_stands() {
    let stack = stack(Some(Duration::from_millis(300))).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "60.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;
    let hold_id = held["hold_id"].as_str().expect("hold").to_owned();
    stack
        .app
        .crash
        .arm("confirm.after_charge", Arming::Times(1));
    let crashed = call(
        &stack,
        Method::POST,
        "/api/v1/bookings/confirm",
        &ada,
        Some(&confirm_body(&hold_id, "tok_visa")),
        None,
    )
    .await;
    assert!(crashed.is_err(), "the request died: {crashed:?}");
    assert_eq!(stack.ledger().charges.len(), 1, "charged before dying");
    assert!(stack
        .app
        .store
        .get_booking(&hold_id)
        .await
        .expect("read")
        .is_none());

    // Once the attempt is overdue the sweeper settles it: the hold stands,
    // so the charge books it.
    stack.clock.advance(chrono::Duration::seconds(6));
    stack
        .eventually("the sweeper books the paid hold", 20, || async {
            stack
                .app
                .store
                .get_booking(&hold_id)
                .await
                .expect("read")
                .is_some_and(|b| b.status == BookingStatus::Confirmed)
        })
        .await;
    let charge = stack
        .ledger()
        .charges
        .values()
        .next()
        .cloned()
        .expect("charge");
    let booking = stack
        .app
        .store
        .get_booking(&hold_id)
        .await
        .expect("read")
        .expect("b");
    assert_eq!(booking.payment_id, charge.id);
    let attempt = stack
        .app
        .store
        .get_payment_attempt(&hold_id, &charge.key)
        .await
        .expect("read")
        .expect("attempt");
    assert_eq!(attempt.status, AttemptStatus::Booked);
    // Ada sees it; a second confirm is told it is already booked.
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&ada)).await;
    assert_eq!(mine["bookings"].as_array().map(Vec::len), Some(1));
    let (status, problem) = stack.confirm(&ada, &hold_id, "tok_visa").await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(problem["booking_id"], hold_id.as_str());
    assert!(stack.ledger().refunds.is_empty());
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn a_confirm_that_dies_after_charging_is_refunded_once_the_hold_has_expired() {
    let stack = stack(Some(Duration::from_millis(300))).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "60.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-3"]).await;
    let hold_id = held["hold_id"].as_str().expect("hold").to_owned();
    stack
        .app
        .crash
        .arm("confirm.after_charge", Arming::Times(1));
    let crashed = call(
        &stack,
        Method::POST,
        "/api/v1/bookings/confirm",
        &ada,
        Some(&confirm_body(&hold_id, "tok_mastercard")),
        None,
    )
    .await;
    assert!(crashed.is_err(), "{crashed:?}");
    // Past the hold's 10 minutes: nothing can be booked, the money goes back.
    stack.clock.advance(chrono::Duration::seconds(601));
    stack
        .eventually("the charge is refunded", 20, || async {
            let l = stack.ledger();
            l.refunds.len() == 1
        })
        .await;
    let ledger = stack.ledger();
    let charge = ledger.charges.values().next().expect("charge");
    assert_eq!(ledger.refunded(&charge.id), charge.amount);
    assert!(stack
        .app
        .store
        .get_booking(&hold_id)
        .await
        .expect("read")
        .is_none());
    let (_, avail) = stack
        .get(
            &format!("/api/v1/events/{}/seats/available", event.id),
            None,
        )
        .await;
    assert_eq!(avail["total_available"], 4, "{avail}");
    // The sweeper keeps settling: still exactly one refund.
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(stack.ledger().refunds.len(), 1);
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn a_retry_of_a_confirm_that_died_after_booking_gets_its_booking_at_once() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "55.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-4"]).await;
    let hold_id = held["hold_id"].as_str().expect("hold").to_owned();
    let body = confirm_body(&hold_id, "tok_visa");
    let path = "/api/v1/bookings/confirm";
    stack
        .app
        .crash
        .arm("confirm.after_booking", Arming::Times(1));
    let crashed = call(&stack, Method::POST, path, &ada, Some(&body), Some("pay-1")).await;
    assert!(crashed.is_err(), "{crashed:?}");
    // The key's answer was recorded with the booking, in its transaction:
    // the retry replays it, no waiting for a lease.
    let (status, _, booked) = call(&stack, Method::POST, path, &ada, Some(&body), Some("pay-1"))
        .await
        .expect("answered");
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["booking"]["id"], hold_id.as_str());
    let (status, _, again) = call(&stack, Method::POST, path, &ada, Some(&body), Some("pay-1"))
        .await
        .expect("answered");
    assert_eq!((status, &again), (201, &booked));
    // The same key for another request is refused; another key for the
    // same hold is told it is booked already.
    let other = confirm_body(&hold_id, "tok_mastercard");
    let (status, _, problem) = call(
        &stack,
        Method::POST,
        path,
        &ada,
        Some(&other),
        Some("pay-1"),
    )
    .await
    .expect("answered");
    assert_eq!(status, 422, "{problem}");
    let (status, _, problem) = call(&stack, Method::POST, path, &ada, Some(&body), Some("pay-2"))
        .await
        .expect("answered");
    assert_eq!(
        (status, &problem["booking_id"]),
        (409, &json!(hold_id)),
        "{problem}"
    );
    assert_eq!(stack.ledger().charges.len(), 1);
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&ada)).await;
    assert_eq!(mine["bookings"].as_array().map(Vec::len), Some(1));
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn two_confirms_of_one_hold_with_different_cards_book_once_and_refund_the_other() {
    let stack = stack(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 6, "30.00", "USD").await;
    for round in 0..3 {
        let (_, ada) = stack.customer(&format!("Ada{round}")).await;
        let seat = format!("A-1-{}", round + 1);
        let held = hold(&stack, &ada, &event.id, &[&seat]).await;
        let id = held["hold_id"].as_str().expect("hold");
        let (a, b) = tokio::join!(
            stack.confirm(&ada, id, "tok_visa"),
            stack.confirm(&ada, id, "tok_mastercard")
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        let loser = if a.0 == 409 { &a.1 } else { &b.1 };
        assert_eq!(loser["booking_id"], id, "{loser}");
    }
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn hold_and_booking_reads_are_strongly_consistent() {
    let stack = Stack::start_opts(Options {
        record_requests: true,
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 4, "20.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    stack.requests.take();
    // A confirm sent right after its hold, with a key; a release right
    // after a hold; a cancel right after a confirm.
    let held = hold(&stack, &ada, &event.id, &["A-1-1"]).await;
    let id = held["hold_id"].as_str().expect("hold");
    let body = confirm_body(id, "tok_visa");
    let (status, booked) = stack
        .post_as(&ada, "/api/v1/bookings/confirm", &body, Some("k-1"))
        .await;
    assert_eq!(status, 201, "{booked}");
    let held = hold(&stack, &ada, &event.id, &["A-1-2"]).await;
    let release = format!(
        "/api/v1/seats/hold/{}",
        held["hold_id"].as_str().expect("hold")
    );
    assert_eq!(stack.delete_as(&ada, &release).await.0, 204);
    let cancel = format!("/api/v1/bookings/{id}/cancel");
    assert_eq!(stack.delete_as(&ada, &cancel).await.0, 200);
    let gets: Vec<(String, Value)> = stack
        .requests
        .take()
        .into_iter()
        .filter(|(op, _)| op == "GetItem")
        .collect();
    // The confirm reads its hold through the write that records its payment
    // attempt (always current); the release reads the hold, the cancel the
    // booking.
    let sks: Vec<&str> = gets
        .iter()
        .filter_map(|(_, b)| b["Key"]["SK"]["S"].as_str())
        .collect();
    assert!(
        sks.contains(&"HOLD") && sks.contains(&"BOOKING"),
        "{gets:?}"
    );
    for (_, body) in &gets {
        let sk = body["Key"]["SK"]["S"].as_str().unwrap_or("");
        // The event item (descriptive, checked again inside every
        // transaction) is the one read that may lag.
        if sk == "EVENT" {
            continue;
        }
        assert_eq!(
            body["ConsistentRead"], true,
            "eventually consistent read: {body}"
        );
    }
}

/// An event whose two seats user `booker` booked and cancelled while
/// `waiters` (quantity 1 each) were in line: returns the event and their
/// tokens. With the waitlist stream running, each waiter gets an offer.
async fn offered_pair(stack: &Stack, waiters: usize) -> (evently_core::Event, Vec<String>) {
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 2, "90.00", "USD").await;
    let (_, booker) = stack.customer("Booker").await;
    let held = hold(stack, &booker, &event.id, &["A-1-1", "A-1-2"]).await;
    let (_, booked) = stack
        .confirm(&booker, held["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let mut tokens = Vec::new();
    for i in 0..waiters {
        let (_, token) = stack.customer(&format!("Waiter{i}")).await;
        let join = json!({"event_id": event.id, "quantity": 1});
        let (status, body) = stack
            .post_as(&token, "/api/v1/waitlist/join", &join, None)
            .await;
        assert_eq!(status, 201, "{body}");
        tokens.push(token);
    }
    let (status, body) = stack
        .delete_as(&booker, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200, "{body}");
    (event, tokens)
}

async fn entry_status(stack: &Stack, event_id: &str, token: &str) -> String {
    stack
        .get(&format!("/api/v1/waitlist/status/{event_id}"), Some(token))
        .await
        .1["entry"]["status"]
        .as_str()
        .unwrap_or("")
        .to_owned()
}

#[tokio::test]
async fn one_bad_item_does_not_stop_the_sweep_and_an_offer_whose_hold_is_gone_still_ends() {
    let stack = stack(Some(Duration::from_secs(3600))).await;
    let (event, waiters) = offered_pair(&stack, 2).await;
    for token in &waiters {
        stack
            .eventually("both waiters offered", 20, || async {
                entry_status(&stack, &event.id, token).await == "offered"
            })
            .await;
    }
    // TTL took the first offer's hold item (a day after expiry, say) ...
    let store = &stack.app.store;
    let offers = store
        .offers_due(stack.app.clock.now() + chrono::Duration::days(1))
        .await
        .expect("offers");
    assert_eq!(offers.len(), 2);
    store
        .client()
        .delete_item()
        .table_name(store.table())
        .key("PK", s(&format!("HOLD#{}", offers[0].hold_id)))
        .key("SK", s("HOLD"))
        .send()
        .await
        .expect("delete");
    // ... and a corrupt record sits among the due offers.
    store
        .client()
        .put_item()
        .table_name(store.table())
        .item("PK", s("OFFER#garbage"))
        .item("SK", s("OFFER"))
        .item("GSI2PK", s("OFFERS#OPEN"))
        .item("GSI2SK", s("000000000001#garbage"))
        .item("status", s("open"))
        .send()
        .await
        .expect("put");
    stack.clock.advance(chrono::Duration::seconds(901));
    let report = stack
        .engine()
        .sweep(tokio::time::Instant::now() + Duration::from_secs(20))
        .await
        .expect("sweep");
    assert!(report.ran);
    assert_eq!(report.offers_expired, 2, "{report:?}");
    for token in &waiters {
        assert_eq!(entry_status(&stack, &event.id, token).await, "expired");
    }
    // Nobody else waits: both seats go back on sale.
    stack
        .eventually("the seats back on sale", 20, || async {
            let (_, avail) = stack
                .get(
                    &format!("/api/v1/events/{}/seats/available", event.id),
                    None,
                )
                .await;
            avail["total_available"] == 2
        })
        .await;
}

fn s(v: &str) -> aws_sdk_dynamodb::types::AttributeValue {
    aws_sdk_dynamodb::types::AttributeValue::S(v.to_owned())
}

#[tokio::test]
async fn only_one_sweep_runs_at_a_time() {
    let stack = stack(Some(Duration::from_secs(3600))).await;
    let engine = stack.engine();
    let store = &stack.app.store;
    let now = stack.app.clock.now();
    let later = || tokio::time::Instant::now() + Duration::from_secs(10);
    assert!(store
        .take_lock("sweeper", "another-run", now, 50)
        .await
        .expect("lock"));
    assert!(!engine.sweep(later()).await.expect("sweep").ran);
    // A holder that died: its lease ends and the next sweep runs.
    stack.clock.advance(chrono::Duration::seconds(51));
    assert!(engine.sweep(later()).await.expect("sweep").ran);
    // A finished sweep gives the lock back.
    assert!(engine.sweep(later()).await.expect("sweep").ran);
}

#[tokio::test]
async fn the_worker_hands_back_what_it_has_no_time_for_and_a_job_stops_at_its_deadline() {
    let stack = Stack::start_opts(Options {
        waitlist: Some((engine(), Duration::from_secs(3600))),
        sender: sender(),
        // The job is run by hand below, not by the stream.
        waitlist_stream: false,
        ..Options::default()
    })
    .await;
    let engine = stack.engine();
    let (org_id, org) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 2, 10, "10.00", "USD").await;
    for i in 1..=12 {
        let (_, token) = stack.customer(&format!("Fan{i}")).await;
        let seat = format!("A-{}-{}", 1 + i / 10, 1 + i % 10);
        let held = hold(&stack, &token, &event.id, &[&seat]).await;
        let (status, _) = stack
            .confirm(&token, held["hold_id"].as_str().expect("hold"), "tok_visa")
            .await;
        assert_eq!(status, 201);
    }
    let (status, _) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{}", event.id),
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    assert_eq!(status, 200);
    let message = json!({"event_cancelled": event.id, "run": 1}).to_string();
    // Two seconds left: not enough to start anything; both come back.
    let failed = waitlist_worker::process(
        engine,
        vec![
            ("m1".into(), message.clone()),
            ("m2".into(), message.clone()),
        ],
        tokio::time::Instant::now() + Duration::from_secs(2),
    )
    .await;
    assert_eq!(failed, ["m1", "m2"]);
    assert!(stack.ledger().refunds.is_empty(), "nothing was done");
    // A run already at its deadline does one step (eight bookings), then
    // asks for another run instead of outliving the invocation.
    let runs_before = stack
        .app
        .store
        .get_event(&event.id)
        .await
        .expect("r")
        .expect("e")
        .cancel_runs;
    let report = engine
        .cancel_event(&event.id, tokio::time::Instant::now())
        .await
        .expect("run");
    assert!(!report.finished);
    assert_eq!(report.bookings_cancelled, 8);
    let runs_after = stack
        .app
        .store
        .get_event(&event.id)
        .await
        .expect("r")
        .expect("e")
        .cancel_runs;
    assert_eq!(runs_after, runs_before + 1, "another run requested");
    let report = engine
        .cancel_event(
            &event.id,
            tokio::time::Instant::now() + Duration::from_secs(20),
        )
        .await
        .expect("run");
    assert!(report.finished);
    assert_eq!(report.bookings_cancelled, 4);
    ledger_is_true(&stack, &[&event.id]).await;
    // The refunds are owed; the stream's messages (this stack runs no
    // stream) make the worker pay them, each once even if sent twice.
    let bookings = stack.oracle.event_bookings(&event.id).await.expect("read");
    let messages: Vec<(String, String)> = bookings
        .iter()
        .chain(&bookings)
        .enumerate()
        .map(|(i, b)| (format!("r{i}"), json!({"refund_owed": b.id}).to_string()))
        .collect();
    let failed = waitlist_worker::process(
        engine,
        messages,
        tokio::time::Instant::now() + Duration::from_secs(60),
    )
    .await;
    assert!(failed.is_empty(), "{failed:?}");
    assert_eq!(stack.ledger().refunds.len(), 12);
    ledger_is_true(&stack, &[&event.id]).await;
}

#[tokio::test]
async fn seats_reserved_by_a_lost_message_go_to_the_next_in_line_or_back_on_sale() {
    // The waitlist stream function never sees the cancellations (as if its
    // records were lost after its retries): only the sweeper's check of
    // seats reserved past their grace period can hand them on.
    let stack = Stack::start_opts(Options {
        waitlist: Some((engine(), Duration::from_millis(300))),
        sender: sender(),
        waitlist_stream: false,
        ..Options::default()
    })
    .await;
    let (event, waiters) = offered_pair(&stack, 1).await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        entry_status(&stack, &event.id, &waiters[0]).await,
        "waiting"
    );
    let (_, avail) = stack
        .get(
            &format!("/api/v1/events/{}/seats/available", event.id),
            None,
        )
        .await;
    assert_eq!(avail["total_available"], 0, "reserved, unsellable: {avail}");
    stack.clock.advance(chrono::Duration::seconds(
        evently_store::RESERVED_GRACE_SECS + 1,
    ));
    stack
        .eventually("the waiter is offered a seat", 20, || async {
            entry_status(&stack, &event.id, &waiters[0]).await == "offered"
        })
        .await;
    // The seat nobody wanted is back on sale.
    stack
        .eventually("the other seat on sale", 20, || async {
            let (_, avail) = stack
                .get(
                    &format!("/api/v1/events/{}/seats/available", event.id),
                    None,
                )
                .await;
            avail["total_available"] == 1
        })
        .await;
}

#[tokio::test]
async fn analytics_are_rebuilt_from_the_items_after_lost_records() {
    let stack = stack(Some(Duration::from_secs(3600))).await;
    let (org_id, org) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 1, 6, "25.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;
    let (status, _) = stack
        .confirm(&ada, held["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    assert_eq!(status, 201);
    hold(&stack, &ada, &event.id, &["A-1-5"]).await;
    let path = format!("/api/v1/admin/events/{}/analytics", event.id);
    stack
        .eventually("the stream counted the sale", 20, || async {
            let (_, a) = stack.send_as(Method::GET, &org, &path, None).await;
            a["sold"] == 2 && a["held"] == 1
        })
        .await;
    // Lost records: the counters drift, and a live hold's marker is gone.
    let store = &stack.app.store;
    store
        .client()
        .update_item()
        .table_name(store.table())
        .key("PK", s(&format!("EVENT#{}", event.id)))
        .key("SK", s("ANALYTICS"))
        .update_expression("SET sold = :n, bookings = :n, sales_cents = :n")
        .expression_attribute_values(":n", aws_sdk_dynamodb::types::AttributeValue::N("7".into()))
        .send()
        .await
        .expect("drift");
    let markers = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(&format!("EVENT#{}#HELD", event.id)))
        .send()
        .await
        .expect("markers");
    for m in markers.items() {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .set_key(Some(
                m.iter()
                    .filter(|(k, _)| *k == "PK" || *k == "SK")
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect(),
            ))
            .send()
            .await
            .expect("lose marker");
    }
    // …and the hourly sales lost theirs: the bucket is gone.
    let sales = store
        .client()
        .query()
        .table_name(store.table())
        .key_condition_expression("PK = :pk")
        .expression_attribute_values(":pk", s(&format!("EVENT#{}#SALES", event.id)))
        .send()
        .await
        .expect("sales buckets");
    assert!(
        !sales.items().is_empty(),
        "the stream kept the hour's sales"
    );
    for b in sales.items() {
        store
            .client()
            .delete_item()
            .table_name(store.table())
            .key("PK", b["PK"].clone())
            .key("SK", b["SK"].clone())
            .send()
            .await
            .expect("lose bucket");
    }
    let (_, drifted) = stack.send_as(Method::GET, &org, &path, None).await;
    assert_eq!(
        (drifted["sold"].clone(), drifted["held"].clone()),
        (json!(7), json!(0))
    );
    assert_eq!(drifted["sales_by_hour"], json!([]));

    let fresh = store.get_event(&event.id).await.expect("r").expect("e");
    let recount = store
        .recount_analytics(&fresh, stack.app.clock.now())
        .await
        .expect("recount");
    assert_eq!(recount.markers_added, 1);
    assert_eq!(recount.sales_hours_rewritten, 1);
    let (_, repaired) = stack.send_as(Method::GET, &org, &path, None).await;
    assert_eq!(repaired["sold"], 2, "{repaired}");
    assert_eq!(repaired["bookings"], 1);
    assert_eq!(repaired["gross_sales"], "50.00");
    assert_eq!(repaired["held"], 1);
    assert_eq!(repaired["available"], 3);
    // The hour of the booking, from the booking itself.
    let booking = &store.event_bookings(&event.id).await.expect("bookings")[0];
    let hour = booking.created_at.timestamp() / 3600 * 3600;
    let hours = repaired["sales_by_hour"].as_array().expect("hours");
    assert_eq!(hours.len(), 1, "{repaired}");
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(hours[0]["hour"].as_str().expect("hour"))
            .expect("rfc3339")
            .timestamp(),
        hour
    );
    assert_eq!(
        (
            &hours[0]["bookings"],
            &hours[0]["seats_sold"],
            &hours[0]["sales"]
        ),
        (&json!(1), &json!(2), &json!("50.00")),
        "{repaired}"
    );
    // Run again: nothing left to change.
    let again = store
        .recount_analytics(&fresh, stack.app.clock.now())
        .await
        .expect("recount");
    assert_eq!((again.markers_added, again.sales_hours_rewritten), (0, 0));
}

#[tokio::test]
async fn the_overview_adds_money_up_per_currency() {
    let stack = Stack::start(None).await;
    let (org_id, org) = stack.organizer("Org").await;
    let usd = stack.event_with(&org_id, 1, 2, "100.00", "USD").await;
    let eur = stack.event_with(&org_id, 1, 2, "30.00", "EUR").await;
    let (_, ada) = stack.customer("Ada").await;
    for event in [&usd, &eur] {
        let held = hold(&stack, &ada, &event.id, &["A-1-1"]).await;
        stack
            .confirm(&ada, held["hold_id"].as_str().expect("hold"), "tok_visa")
            .await;
    }
    // Counters come from the stream; without event sources, apply the
    // recount (the same figures) directly.
    for event in [&usd, &eur] {
        let fresh = stack
            .app
            .store
            .get_event(&event.id)
            .await
            .expect("r")
            .expect("e");
        stack
            .app
            .store
            .recount_analytics(&fresh, stack.app.clock.now())
            .await
            .expect("recount");
    }
    let (status, overview) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/analytics", None)
        .await;
    assert_eq!(status, 200, "{overview}");
    assert_eq!(
        overview["revenue"],
        json!({"EUR": "30.00", "USD": "100.00"}),
        "{overview}"
    );
    assert_eq!(
        overview["gross_sales"],
        json!({"EUR": "30.00", "USD": "100.00"})
    );
    assert_eq!(overview["sold"], 2);
    let currencies: BTreeMap<String, String> = overview["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| {
            (
                e["event_id"].as_str().unwrap_or("").to_owned(),
                e["currency"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    assert_eq!(currencies[&usd.id], "USD");
    assert_eq!(currencies[&eur.id], "EUR");
    let (_, one) = stack
        .send_as(
            Method::GET,
            &org,
            &format!("/api/v1/admin/events/{}/analytics", eur.id),
            None,
        )
        .await;
    assert_eq!(
        (one["revenue"].clone(), one["currency"].clone()),
        (json!("30.00"), json!("EUR"))
    );
}

#[tokio::test]
async fn without_a_payment_provider_confirm_is_503_and_nothing_is_booked() {
    let stack = Stack::start_opts(Options {
        payments: Some(std::sync::Arc::new(evently_core::NotConfigured)),
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 2, "20.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1"]).await;
    let id = held["hold_id"].as_str().expect("hold");
    let (status, retry_after, problem) = call(
        &stack,
        Method::POST,
        "/api/v1/bookings/confirm",
        &ada,
        Some(&confirm_body(id, "tok_visa")),
        None,
    )
    .await
    .expect("answered");
    assert_eq!((status, retry_after), (503, Some(1)), "{problem}");
    assert!(stack
        .app
        .store
        .get_booking(id)
        .await
        .expect("read")
        .is_none());
}

#[tokio::test]
async fn a_write_whose_answer_came_too_late_is_not_mistaken_for_someone_elses() {
    // The endpoint applies the write and answers after the SDK gave up; the
    // SDK's retry then meets the write's own result. A conditional write
    // must see that it landed, not report a conflict (or a 500).
    let stack = stack(None).await;
    let (org_id, org) = stack.organizer("Org").await;
    let late_put =
        json!([{"fault": "timeout", "operations": ["PutItem"], "count": 1, "delay_ms": 1300}]);
    stack.faults(21, late_put).await;
    let venue = json!({"name": "Late Hall", "city": "Oslo",
        "sections": [{"id": "A", "name": "A", "rows": 1, "seats_per_row": 2, "default_price": "10.00"}]});
    let (status, created) = stack
        .send_as(Method::POST, &org, "/api/v1/admin/venues", Some(&venue))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(
        stack.injected_here().await,
        1,
        "the venue's put answered late"
    );
    let (_, venues) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/venues", None)
        .await;
    assert_eq!(venues["venues"].as_array().map(Vec::len), Some(1));

    // A cancellation is one transaction (the event and its sale gates):
    // applied, answered late, resent with its token.
    let event = stack.event_with(&org_id, 1, 2, "10.00", "USD").await;
    let late_transaction = json!([{"fault": "timeout", "operations": ["TransactWriteItems"],
        "count": 1, "delay_ms": 1300}]);
    stack.faults(22, late_transaction).await;
    let (status, body) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{}", event.id),
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["status"], "cancelled");
    assert_eq!(
        stack.injected_here().await,
        1,
        "the cancellation answered late"
    );
}

#[tokio::test]
async fn a_confirm_whose_every_attempt_answered_too_late_books_once_and_says_so() {
    // Every one of the SDK's five attempts at the booking transaction is
    // applied-then-late; the store's own retry must not take its own
    // booking for someone else's (409): it resends with the same client
    // request token and gets DynamoDB's idempotent success.
    let stack = Stack::start_opts(Options {
        config: Config {
            request_budget_ms: Some(15_000),
            ..config()
        },
        sender: sender(),
        attempt_timeout_ms: Some(1_000),
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 1, 2, "35.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let held = hold(&stack, &ada, &event.id, &["A-1-1"]).await;
    let id = held["hold_id"].as_str().expect("hold");
    stack
        .faults(
            31,
            json!([{"fault": "timeout", "operations": ["TransactWriteItems"], "count": 5, "delay_ms": 1100}]),
        )
        .await;
    let (status, booked) = stack.confirm(&ada, id, "tok_visa").await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(booked["booking"]["id"], id);
    stack.no_faults().await;
    assert_eq!(stack.ledger().charges.len(), 1);
    ledger_is_true(&stack, &[&event.id]).await;
}
