//! What an on-sale costs DynamoDB, as the functions' own SDK clients send
//! it (issue 11): a hold is one round trip, and what makes it one (a
//! function's copy of the event, the holder's guard written without
//! reading it, the Idempotency-Key's answer inside the hold's transaction)
//! never changes what a customer is told.

use evently_tests::{Options, Stack};
use serde_json::{json, Value};

/// The operations sent since the last call.
fn ops(stack: &Stack) -> Vec<String> {
    stack
        .requests
        .take()
        .into_iter()
        .map(|(op, _)| op)
        .collect()
}

fn seats(row: u32, from: u32, to: u32) -> Vec<String> {
    (from..=to).map(|n| format!("A-{row}-{n}")).collect()
}

async fn keyed_hold(
    stack: &Stack,
    token: &str,
    event: &str,
    seats: &[String],
    key: &str,
) -> (u16, Value) {
    let body = json!({"event_id": event, "section_id": "A", "seat_ids": seats});
    stack
        .post_as(token, "/api/v1/seats/hold", &body, Some(key))
        .await
}

#[tokio::test]
async fn a_keyed_hold_is_one_round_trip_and_its_retry_replays_it() {
    let stack = Stack::start_opts(Options {
        record_requests: true,
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 2, 10, "20.00", "USD").await;
    let (_, early) = stack.customer("Early").await;
    let (_, ada) = stack.customer("Ada").await;
    // The first hold of the event in this function reads the event.
    let (status, _) = keyed_hold(&stack, &early, &event.id, &seats(2, 10, 10), "e").await;
    assert_eq!(status, 201);
    ops(&stack);

    let (status, first) = keyed_hold(&stack, &ada, &event.id, &seats(1, 1, 2), "k-1").await;
    assert_eq!(status, 201, "{first}");
    assert_eq!(ops(&stack), ["TransactWriteItems"], "a hold is one request");

    // The retry of a request whose answer was lost: the same hold, one
    // request, nothing held twice.
    let (status, again) = keyed_hold(&stack, &ada, &event.id, &seats(1, 1, 2), "k-1").await;
    assert_eq!((status, &again), (201, &first));
    assert_eq!(ops(&stack), ["TransactWriteItems"]);
    let free = stack.free_seats(&event.id, "A").await;
    assert!(
        !free.contains(&"A-1-1".to_owned()) && free.contains(&"A-1-3".to_owned()),
        "{free:?}"
    );

    // The same key for other seats: 422, and they stay free.
    let (status, problem) = keyed_hold(&stack, &ada, &event.id, &seats(1, 5, 5), "k-1").await;
    assert_eq!(status, 422, "{problem}");

    // Ada's next hold: this function knows her guard, still one request.
    ops(&stack);
    let (status, second) = keyed_hold(&stack, &ada, &event.id, &seats(1, 3, 4), "k-2").await;
    assert_eq!(status, 201, "{second}");
    assert_eq!(ops(&stack), ["TransactWriteItems"]);
}

#[tokio::test]
async fn the_per_user_cap_holds_when_a_function_knows_an_old_guard() {
    let stack = Stack::start_opts(Options {
        record_requests: true,
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 3, 12, "20.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let (status, six) = keyed_hold(&stack, &ada, &event.id, &seats(1, 1, 6), "a").await;
    assert_eq!(status, 201, "{six}");
    let (status, four) = keyed_hold(&stack, &ada, &event.id, &seats(2, 1, 4), "b").await;
    assert_eq!(status, 201, "{four}");
    let (status, problem) = keyed_hold(&stack, &ada, &event.id, &seats(2, 5, 5), "c").await;
    assert_eq!(
        status, 409,
        "ten seats held, the eleventh refused: {problem}"
    );
    assert_eq!(problem["held_seats"], 10, "{problem}");

    // Released through another function: the hold function's view of the
    // guard is now old. Six seats are free to hold again, found by
    // reading the guard (the view said ten).
    let release = format!(
        "/api/v1/seats/hold/{}",
        six["hold_id"].as_str().expect("id")
    );
    assert_eq!(stack.delete_as(&ada, &release).await.0, 204);
    ops(&stack);
    let (status, again) = keyed_hold(&stack, &ada, &event.id, &seats(1, 1, 6), "d").await;
    assert_eq!(status, 201, "{again}");
    assert_eq!(ops(&stack), ["GetItem", "TransactWriteItems"]);

    // The same user holding three times at once from one view (none):
    // each guard write is conditioned on that view, the losers' failed
    // conditions return the guard as it is and they try again from it;
    // two fit under the cap, the third does not.
    let (_, bob) = stack.customer("Bob").await;
    let tries = ["B1", "B2", "B3"].map(|key| {
        let n: u32 = key[1..].parse().expect("n");
        let bob = &bob;
        let stack = &stack;
        let event = &event.id;
        async move {
            let wanted: Vec<String> = (4 * n - 3..=4 * n).map(|s| format!("A-3-{s}")).collect();
            keyed_hold(stack, bob, event, &wanted, key).await
        }
    });
    let mut answers = futures::future::join_all(tries).await;
    answers.sort_by_key(|(status, _)| *status);
    let statuses: Vec<u16> = answers.iter().map(|(s, _)| *s).collect();
    assert_eq!(statuses, [201, 201, 409], "{answers:?}");
    assert_eq!(answers[2].1["held_seats"], 8, "{answers:?}");
}

#[tokio::test]
async fn joining_a_waiting_room_is_one_round_trip_and_a_refresh_writes_nothing() {
    let stack = Stack::start_opts(Options {
        record_requests: true,
        // The function's copy of the line's state outlives the test (a
        // copy a second old would be read again on a slow machine).
        config: evently_http::Config {
            queue_cache_ms: 600_000,
            ..evently_http::Config::default()
        },
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let mut event = stack.event_with(&org, 1, 10, "20.00", "USD").await;
    let read = event.clone();
    event.admission = Some(evently_core::Admission {
        on_sale_at: event.starts_at - chrono::Duration::days(1),
        rate_per_minute: 100,
        window_seconds: 600,
    });
    stack
        .app
        .store
        .save_event(&event, &read)
        .await
        .expect("admission");
    let path = format!("/api/v1/events/{}/queue", event.id);
    // The function's first join reads the event and the line's state.
    let (_, early) = stack.customer("Early").await;
    let (status, _) = stack.post_as(&early, &path, &json!({}), None).await;
    assert_eq!(status, 201);
    ops(&stack);
    let (_, ada) = stack.customer("Ada").await;
    ops(&stack);
    let (status, joined) = stack.post_as(&ada, &path, &json!({}), None).await;
    assert_eq!(status, 201, "{joined}");
    assert_eq!(ops(&stack), ["TransactWriteItems"], "a join is one request");
    // A refresh: the refused transaction names the ticket; reading it is
    // the only other request, and nothing is written.
    let (status, again) = stack.post_as(&ada, &path, &json!({}), None).await;
    assert_eq!(
        (status, &again["ticket"]["id"]),
        (200, &joined["ticket"]["id"])
    );
    assert_eq!(ops(&stack), ["TransactWriteItems", "GetItem"]);
}

async fn keyed_confirm(stack: &Stack, token: &str, hold: &Value, key: &str) -> (u16, Value) {
    let body = json!({"hold_id": hold["hold_id"], "payment_details": {"card_token": "tok_visa"}});
    stack
        .post_as(token, "/api/v1/bookings/confirm", &body, Some(key))
        .await
}

#[tokio::test]
async fn a_keyed_confirm_is_two_round_trips_and_so_is_a_cancel() {
    let stack = Stack::start_opts(Options {
        record_requests: true,
        ..Options::default()
    })
    .await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 2, 10, "20.00", "USD").await;
    // The first cancel of the event in its function reads the event.
    let (_, early) = stack.customer("Early").await;
    let (_, held) = keyed_hold(&stack, &early, &event.id, &seats(2, 10, 10), "e").await;
    let (status, booked) = keyed_confirm(&stack, &early, &held, "e-pay").await;
    assert_eq!(status, 201, "{booked}");
    let early_booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let cancel = |id: &str| format!("/api/v1/bookings/{id}/cancel");
    assert_eq!(
        stack.delete_as(&early, &cancel(&early_booking)).await.0,
        200
    );

    let (_, ada) = stack.customer("Ada").await;
    let (status, held) = keyed_hold(&stack, &ada, &event.id, &seats(1, 1, 2), "h").await;
    assert_eq!(status, 201, "{held}");
    ops(&stack);
    // Recording the payment attempt reads the hold; the booking, the
    // attempt's close and the key's answer are one transaction.
    let (status, booked) = keyed_confirm(&stack, &ada, &held, "pay").await;
    assert_eq!(status, 201, "{booked}");
    assert_eq!(ops(&stack), ["UpdateItem", "TransactWriteItems"]);
    // Its retry: the hold is confirmed, the key's answer is replayed.
    let (status, again) = keyed_confirm(&stack, &ada, &held, "pay").await;
    assert_eq!((status, &again), (201, &booked));
    assert_eq!(ops(&stack), ["UpdateItem", "GetItem"]);
    assert_eq!(stack.ledger().charges.len(), 2, "one charge per booking");

    // The cancel reads the booking and writes one transaction; the refund
    // is recorded in it and paid after the answer.
    let id = booked["booking"]["id"].as_str().expect("id").to_owned();
    let (status, cancelled) = stack.delete_as(&ada, &cancel(&id)).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["booking"]["refund_amount"], "40.00");
    assert_eq!(ops(&stack), ["GetItem", "TransactWriteItems"]);
    let owed = stack.oracle.refund_due(&id).await.expect("read");
    assert_eq!(owed.map(|o| o.amount.to_string()), Some("40.00".into()));
    // Nobody waits: the seats are on sale again at once.
    let free = stack.free_seats(&event.id, "A").await;
    assert!(free.contains(&"A-1-1".to_owned()), "{free:?}");
}
