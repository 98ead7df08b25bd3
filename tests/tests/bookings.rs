//! Holds, confirmation, bookings and cancellation over HTTP, with every
//! status code of the contract and the bad input that must change nothing.

use chrono::Duration;
use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::{json, Value};

const JAZZ: &str = "Midnight Jazz Quartet";
const STRINGS: &str = "Chamber Strings: Late Beethoven";

async fn seat_status(stack: &Stack, event_id: &str, seat: &str) -> String {
    stack.seat_status(event_id, seat).await
}

fn hold_id(body: &Value) -> String {
    body["hold_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no hold_id in {body}"))
        .to_owned()
}

#[tokio::test]
async fn a_hold_takes_the_seats_and_names_the_conflicts_for_the_next_person() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;

    let (status, hold) = stack
        .hold(&ada, &jazz, "ORCH", &["ORCH-1-2", "ORCH-1-1"])
        .await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(hold["seat_ids"], json!(["ORCH-1-1", "ORCH-1-2"]));
    assert_eq!(hold["total_price"], "130.00");
    assert_eq!(hold["section_id"], "ORCH");
    let expires: chrono::DateTime<chrono::Utc> = hold["expires_at"]
        .as_str()
        .expect("expires")
        .parse()
        .expect("time");
    assert_eq!((expires - stack.app.clock.now()).num_seconds(), 600);
    assert_eq!(seat_status(&stack, &jazz, "ORCH-1-1").await, "held");

    let (status, problem) = stack
        .hold(&bob, &jazz, "ORCH", &["ORCH-1-3", "ORCH-1-2", "ORCH-1-1"])
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        problem["conflicting_seat_ids"],
        json!(["ORCH-1-1", "ORCH-1-2"])
    );
    assert_eq!(
        seat_status(&stack, &jazz, "ORCH-1-3").await,
        "available",
        "a refused hold takes nothing"
    );
    // Ada holding her own seats again is also a conflict: a hold is not re-entrant.
    assert_eq!(stack.hold(&ada, &jazz, "ORCH", &["ORCH-1-1"]).await.0, 409);
}

#[tokio::test]
async fn bad_hold_requests_get_clear_errors_and_take_nothing() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let eleven: Vec<String> = (1..=11).map(|n| format!("ORCH-2-{n}")).collect();
    let eleven: Vec<&str> = eleven.iter().map(String::as_str).collect();
    let unknown_event = evently_core::new_id();
    let cases: Vec<(&str, &str, Vec<&str>, u16)> = vec![
        (&jazz, "ORCH", vec![], 422),
        (&jazz, "ORCH", eleven, 422),
        (&jazz, "ORCH", vec!["ORCH-2-1", "ORCH-2-1"], 422),
        (&jazz, "ORCH", vec!["MEZZ-1-1"], 422),
        (&jazz, "ORCH", vec!["nonsense"], 422),
        (&jazz, "BALCONY", vec!["BALCONY-1-1"], 404),
        (&jazz, "ORCH", vec!["ORCH-2-1", "ORCH-99-1"], 404),
        (&jazz, "ORCH", vec!["ORCH-8-5"], 404), // a pillar, not a seat
        (&unknown_event, "ORCH", vec!["ORCH-2-1"], 404),
        ("not-an-id", "ORCH", vec!["ORCH-2-1"], 404),
    ];
    for (event, section, seats, want) in cases {
        let (status, problem) = stack.hold(&ada, event, section, &seats).await;
        assert_eq!(status, want, "{section} {seats:?}: {problem}");
    }
    let malformed = [
        json!({"event_id": jazz, "section_id": "ORCH"}),
        json!({"event_id": jazz, "section_id": "ORCH", "seat_ids": "ORCH-2-1"}),
        json!({"event_id": jazz, "section_id": "ORCH", "seat_ids": ["ORCH-2-1"], "price": "0.01"}),
    ];
    for body in malformed {
        assert_eq!(
            stack
                .post_as(&ada, "/api/v1/seats/hold", &body, None)
                .await
                .0,
            422,
            "{body}"
        );
    }
    assert_eq!(
        stack.post_raw("/api/v1/seats/hold", "{}").await.0,
        401,
        "no token"
    );
    let (status, _) = stack
        .hold("not-a-token", &jazz, "ORCH", &["ORCH-2-1"])
        .await;
    assert_eq!(status, 401);
    // None of the above took a seat.
    assert_eq!(stack.free_seats(&jazz, "ORCH").await.len(), 298);
}

#[tokio::test]
async fn cancelled_and_started_events_cannot_be_held() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let mut cancelled = stack
        .app
        .store
        .get_event(&jazz)
        .await
        .expect("get")
        .expect("event");
    cancelled.id = evently_core::new_id();
    cancelled.status = evently_core::EventStatus::Cancelled;
    stack.app.store.create_event(&cancelled).await.expect("put");
    let (status, problem) = stack.hold(&ada, &cancelled.id, "ORCH", &["ORCH-1-1"]).await;
    assert_eq!(status, 409, "{problem}");

    stack.clock.advance(Duration::days(15)); // the jazz night started yesterday
    let (status, problem) = stack.hold(&ada, &jazz, "ORCH", &["ORCH-1-1"]).await;
    assert_eq!(status, 409, "{problem}");
    assert!(problem["detail"].as_str().unwrap_or("").contains("started"));
}

#[tokio::test]
async fn an_expired_hold_frees_its_seats_without_anyone_deleting_it() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let (status, first) = stack.hold(&ada, &jazz, "MEZZ", &["MEZZ-1-1"]).await;
    assert_eq!(status, 201);
    stack.clock.advance(Duration::seconds(599));
    assert_eq!(stack.hold(&bob, &jazz, "MEZZ", &["MEZZ-1-1"]).await.0, 409);
    stack.clock.advance(Duration::seconds(1));
    assert_eq!(seat_status(&stack, &jazz, "MEZZ-1-1").await, "available");
    let (status, second) = stack.hold(&bob, &jazz, "MEZZ", &["MEZZ-1-1"]).await;
    assert_eq!(status, 201, "{second}");
    // Ada's old hold cannot be confirmed any more, and her card is not charged.
    let (status, problem) = stack.confirm(&ada, &hold_id(&first), "tok_visa").await;
    assert_eq!(status, 410, "{problem}");
    let (status, booking) = stack.confirm(&bob, &hold_id(&second), "tok_visa").await;
    assert_eq!(status, 201, "{booking}");
}

#[tokio::test]
async fn one_user_holds_at_most_the_configured_seats_per_event() {
    let config = evently_http::Config {
        max_held_seats_per_user: 4,
        ..Default::default()
    };
    let stack = Stack::start_with(Some(SeedSize::Small), config).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    assert_eq!(
        stack
            .hold(&ada, &jazz, "ORCH", &["ORCH-3-1", "ORCH-3-2", "ORCH-3-3"])
            .await
            .0,
        201
    );
    let (status, problem) = stack
        .hold(&ada, &jazz, "MEZZ", &["MEZZ-3-1", "MEZZ-3-2"])
        .await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(
        (
            problem["held_seats"].as_u64(),
            problem["max_held_seats"].as_u64()
        ),
        (Some(3), Some(4))
    );
    let (status, last) = stack.hold(&ada, &jazz, "MEZZ", &["MEZZ-3-1"]).await;
    assert_eq!(status, 201);
    // Releasing gives the allowance back; so does expiry.
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/seats/hold/{}", hold_id(&last)))
            .await
            .0,
        204
    );
    assert_eq!(stack.hold(&ada, &jazz, "MEZZ", &["MEZZ-3-2"]).await.0, 201);
    stack.clock.advance(Duration::minutes(11));
    assert_eq!(
        stack
            .hold(
                &ada,
                &jazz,
                "ORCH",
                &["ORCH-4-1", "ORCH-4-2", "ORCH-4-3", "ORCH-4-4"]
            )
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn releasing_a_hold_frees_the_seats_and_only_the_holder_may() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let (_, hold) = stack
        .hold(&ada, &jazz, "ORCH", &["ORCH-5-1", "ORCH-5-2"])
        .await;
    let path = format!("/api/v1/seats/hold/{}", hold_id(&hold));
    assert_eq!(stack.delete_as(&bob, &path).await.0, 403);
    assert_eq!(seat_status(&stack, &jazz, "ORCH-5-1").await, "held");
    assert_eq!(stack.delete_as(&ada, &path).await.0, 204);
    assert_eq!(seat_status(&stack, &jazz, "ORCH-5-1").await, "available");
    assert_eq!(
        stack.delete_as(&ada, &path).await.0,
        204,
        "releasing twice is harmless"
    );
    let unknown = format!("/api/v1/seats/hold/{}", evently_core::new_id());
    assert_eq!(stack.delete_as(&ada, &unknown).await.0, 404);
    assert_eq!(
        stack.delete_as(&ada, "/api/v1/seats/hold/garbage").await.0,
        404
    );
    // A released hold cannot be confirmed.
    assert_eq!(
        stack.confirm(&ada, &hold_id(&hold), "tok_visa").await.0,
        410
    );
    // The seats really are free: Bob can take them.
    assert_eq!(
        stack
            .hold(&bob, &jazz, "ORCH", &["ORCH-5-1", "ORCH-5-2"])
            .await
            .0,
        201
    );
}

#[tokio::test]
async fn confirming_pays_exactly_once_and_answers_every_failure_clearly() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let (_, hold) = stack
        .hold(&ada, &jazz, "MEZZ", &["MEZZ-2-1", "MEZZ-2-2"])
        .await;
    let id = hold_id(&hold);

    let (status, problem) = stack.confirm(&ada, &id, "tok_chargeDeclined").await;
    assert_eq!(status, 402, "{problem}");
    assert_eq!(
        seat_status(&stack, &jazz, "MEZZ-2-1").await,
        "held",
        "a decline keeps the hold"
    );
    let (status, problem) = stack.confirm(&ada, &id, "tok_stolen").await;
    assert_eq!(
        (status, problem["field"].as_str()),
        (422, Some("payment_details.card_token"))
    );
    let malformed = [
        json!({"hold_id": id}),
        json!({"hold_id": id, "payment_details": {}}),
        json!({"hold_id": id, "payment_details": {"card_token": 42}}),
        json!({"hold_id": id, "payment_details": {"card_token": "tok_visa", "cvv": "123"}}),
    ];
    for body in malformed {
        assert_eq!(
            stack
                .post_as(&ada, "/api/v1/bookings/confirm", &body, None)
                .await
                .0,
            422,
            "{body}"
        );
    }
    assert_eq!(stack.confirm(&bob, &id, "tok_visa").await.0, 403);
    assert_eq!(
        stack
            .confirm(&ada, &evently_core::new_id(), "tok_visa")
            .await
            .0,
        404
    );
    assert_eq!(
        stack.get("/api/v1/bookings/me", Some(&ada)).await.1["bookings"],
        json!([])
    );

    let (status, body) = stack.confirm(&ada, &id, "tok_mastercard").await;
    assert_eq!(status, 201, "{body}");
    let booking = &body["booking"];
    assert_eq!(booking["status"], "confirmed");
    assert_eq!(booking["total_price"], "90.00");
    assert_eq!(booking["seat_ids"], json!(["MEZZ-2-1", "MEZZ-2-2"]));
    assert_eq!(seat_status(&stack, &jazz, "MEZZ-2-1").await, "booked");
    let (status, problem) = stack.confirm(&ada, &id, "tok_visa").await;
    assert_eq!(status, 409, "{problem}");
    // Releasing a confirmed hold is refused: the booking is cancelled instead.
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/seats/hold/{id}"))
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn two_clients_confirming_the_same_hold_at_once_make_one_booking() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    for round in 0..5 {
        let (_, ada) = stack.customer(&format!("Ada{round}")).await;
        let seat = format!("ORCH-10-{}", round + 1);
        let (_, hold) = stack.hold(&ada, &jazz, "ORCH", &[&seat]).await;
        let id = hold_id(&hold);
        let (a, b) = tokio::join!(
            stack.confirm(&ada, &id, "tok_visa"),
            stack.confirm(&ada, &id, "tok_visa")
        );
        let mut statuses = [a.0, b.0];
        statuses.sort();
        assert_eq!(statuses, [201, 409], "{a:?} {b:?}");
        let (_, mine) = stack.get("/api/v1/bookings/me", Some(&ada)).await;
        assert_eq!(mine["bookings"].as_array().map(Vec::len), Some(1));
    }
}

#[tokio::test]
async fn bookings_are_private_and_listed_newest_first() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let mut ids = Vec::new();
    for seat in ["MEZZ-5-1", "MEZZ-5-2"] {
        let (_, hold) = stack.hold(&ada, &jazz, "MEZZ", &[seat]).await;
        let (status, body) = stack.confirm(&ada, &hold_id(&hold), "tok_visa").await;
        assert_eq!(status, 201);
        ids.push(body["booking"]["id"].as_str().expect("id").to_owned());
        stack.clock.advance(Duration::seconds(1));
    }
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&ada)).await;
    let listed: Vec<&str> = mine["bookings"]
        .as_array()
        .expect("list")
        .iter()
        .filter_map(|b| b["id"].as_str())
        .collect();
    assert_eq!(listed, [ids[1].as_str(), ids[0].as_str()]);
    let (status, one) = stack
        .get(&format!("/api/v1/bookings/{}", ids[0]), Some(&ada))
        .await;
    assert_eq!(
        (status, one["booking"]["seat_ids"].clone()),
        (200, json!(["MEZZ-5-1"]))
    );
    assert_eq!(
        stack
            .get(&format!("/api/v1/bookings/{}", ids[0]), Some(&bob))
            .await
            .0,
        404
    );
    assert_eq!(
        stack.get("/api/v1/bookings/me", Some(&bob)).await.1["bookings"],
        json!([])
    );
    assert_eq!(
        stack.get("/api/v1/bookings/not-an-id", Some(&ada)).await.0,
        404
    );
    assert_eq!(stack.get("/api/v1/bookings/me", None).await.0, 401);
}

#[tokio::test]
async fn cancelling_follows_the_policy_releases_the_seats_and_happens_once() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let (_, hold) = stack
        .hold(&ada, &jazz, "ORCH", &["ORCH-6-1", "ORCH-6-2"])
        .await;
    let (_, body) = stack.confirm(&ada, &hold_id(&hold), "tok_visa").await;
    let id = body["booking"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/bookings/{id}/cancel");

    assert_eq!(
        stack.delete_as(&bob, &path).await.0,
        404,
        "not Bob's to cancel"
    );
    let (status, body) = stack.delete_as(&ada, &path).await;
    assert_eq!(status, 200, "{body}");
    let cancelled = &body["booking"];
    assert_eq!(cancelled["status"], "cancelled");
    // Jazz: fixed 5.00 fee until 24 h before the start.
    assert_eq!(
        (
            cancelled["refund_amount"].as_str(),
            cancelled["cancellation_fee"].as_str()
        ),
        (Some("125.00"), Some("5.00"))
    );
    assert!(cancelled["cancelled_at"].is_string());
    assert_eq!(seat_status(&stack, &jazz, "ORCH-6-1").await, "available");
    let (status, problem) = stack.delete_as(&ada, &path).await;
    assert_eq!(status, 409, "{problem}");
    let (_, again) = stack
        .get(&format!("/api/v1/bookings/{id}"), Some(&ada))
        .await;
    assert_eq!(again["booking"]["status"], "cancelled");
    // The seats went back once: Bob holds them, and Ada's second cancel did not free them again.
    assert_eq!(
        stack
            .hold(&bob, &jazz, "ORCH", &["ORCH-6-1", "ORCH-6-2"])
            .await
            .0,
        201
    );
    assert_eq!(stack.delete_as(&ada, &path).await.0, 409);
    assert_eq!(seat_status(&stack, &jazz, "ORCH-6-1").await, "held");
}

#[tokio::test]
async fn cancellation_is_refused_past_the_deadline_and_where_not_allowed() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let (_, ada) = stack.customer("Ada").await;
    let book = |event: String, section: &'static str, seat: &'static str| {
        let stack = &stack;
        let ada = ada.clone();
        async move {
            let (_, hold) = stack.hold(&ada, &event, section, &[seat]).await;
            let (_, body) = stack.confirm(&ada, &hold_id(&hold), "tok_visa").await;
            body["booking"]["id"].as_str().expect("booking").to_owned()
        }
    };
    let final_sale = book(stack.event_id(STRINGS), "ORCH", "ORCH-1-1").await;
    let (status, problem) = stack
        .delete_as(&ada, &format!("/api/v1/bookings/{final_sale}/cancel"))
        .await;
    assert_eq!(status, 409);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap_or("")
            .contains("does not allow"),
        "{problem}"
    );

    let jazz = book(stack.event_id(JAZZ), "ORCH", "ORCH-7-1").await;
    stack
        .clock
        .advance(Duration::days(13) + Duration::hours(20)); // inside the last 24 h
    let (status, problem) = stack
        .delete_as(&ada, &format!("/api/v1/bookings/{jazz}/cancel"))
        .await;
    assert_eq!(status, 409);
    assert!(
        problem["detail"].as_str().unwrap_or("").contains("closed"),
        "{problem}"
    );
    let (_, still) = stack
        .get(&format!("/api/v1/bookings/{jazz}"), Some(&ada))
        .await;
    assert_eq!(still["booking"]["status"], "confirmed");
}

#[tokio::test]
async fn cancelled_seats_are_reserved_for_the_waitlist_when_people_wait() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let demo = stack.event_id(DEMO_NIGHT);
    let ada = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (_, hold) = stack.hold(&ada, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (_, body) = stack.confirm(&ada, &hold_id(&hold), "tok_visa").await;
    let id = body["booking"]["id"].as_str().expect("id").to_owned();
    // Sold out: someone joins the line (through a function other than
    // the cancelling one, which has never heard of this waitlist).
    let bea = stack.login("user2@example.com", DEMO_PASSWORD).await;
    let (status, entry) = stack
        .post_as(
            &bea,
            "/api/v1/waitlist/join",
            &json!({"event_id": demo, "quantity": 2}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{entry}");
    let (status, body) = stack
        .delete_as(&ada, &format!("/api/v1/bookings/{id}/cancel"))
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["booking"]["refund_amount"], "240.00");
    let (_, user3) = stack.customer("Sniper").await;
    let (status, problem) = stack.hold(&user3, &demo, "A", &["A-1-1"]).await;
    assert_eq!(
        status, 409,
        "reserved for the waitlist, not for whoever is fastest: {problem}"
    );
    assert_eq!(seat_status(&stack, &demo, "A-1-1").await, "held");
}

#[tokio::test]
async fn an_idempotency_key_replays_the_first_response_and_does_the_work_once() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let jazz = stack.event_id(JAZZ);
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let body = json!({"event_id": jazz, "section_id": "ORCH", "seat_ids": ["ORCH-9-1"]});
    let (s1, first) = stack
        .post_as(&ada, "/api/v1/seats/hold", &body, Some("key-1"))
        .await;
    let (s2, second) = stack
        .post_as(&ada, "/api/v1/seats/hold", &body, Some("key-1"))
        .await;
    assert_eq!((s1, s2), (201, 201));
    assert_eq!(first, second, "the same hold, not a second one");
    let other = json!({"event_id": jazz, "section_id": "ORCH", "seat_ids": ["ORCH-9-2"]});
    let (status, problem) = stack
        .post_as(&ada, "/api/v1/seats/hold", &other, Some("key-1"))
        .await;
    assert_eq!(status, 422, "{problem}");
    assert_eq!(seat_status(&stack, &jazz, "ORCH-9-2").await, "available");
    // Keys are per user: Bob's key-1 is his own (and the seat is Ada's).
    assert_eq!(
        stack
            .post_as(&bob, "/api/v1/seats/hold", &body, Some("key-1"))
            .await
            .0,
        409
    );
    let long = "k".repeat(256);
    assert_eq!(
        stack
            .post_as(&ada, "/api/v1/seats/hold", &other, Some(&long))
            .await
            .0,
        400
    );

    let confirm =
        json!({"hold_id": first["hold_id"], "payment_details": {"card_token": "tok_visa"}});
    let (c1, b1) = stack
        .post_as(&ada, "/api/v1/bookings/confirm", &confirm, Some("pay-1"))
        .await;
    let (c2, b2) = stack
        .post_as(&ada, "/api/v1/bookings/confirm", &confirm, Some("pay-1"))
        .await;
    assert_eq!((c1, c2), (201, 201), "{b1} {b2}");
    assert_eq!(b1, b2);
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&ada)).await;
    assert_eq!(mine["bookings"].as_array().map(Vec::len), Some(1));

    let reg = json!({"email": "once@example.com", "password": "a long passphrase", "name": "Once"});
    let r1 = stack
        .http
        .post(stack.url("/api/v1/auth/register"))
        .header("idempotency-key", "r")
        .json(&reg)
        .send()
        .await
        .expect("send");
    let r1 = evently_tests::answer(r1).await;
    let r2 = stack
        .http
        .post(stack.url("/api/v1/auth/register"))
        .header("idempotency-key", "r")
        .json(&reg)
        .send()
        .await
        .expect("send");
    let r2 = evently_tests::answer(r2).await;
    assert_eq!(
        (r1.0, r2.0),
        (201, 201),
        "a retried registration is not 'email taken'"
    );
    assert_eq!(r1.1["user"]["id"], r2.1["user"]["id"]);
}

#[tokio::test]
async fn a_cancellations_refund_is_paid_after_the_answer_without_the_sweeper() {
    let stack = Stack::start_live(None).await;
    let (org_id, _) = stack.organizer("Rae").await;
    let event = stack.event_with(&org_id, 1, 2, "80.00", "USD").await;
    let (_, token) = stack.customer("Sam").await;
    let (_, hold) = stack.hold(&token, &event.id, "A", &["A-1-1"]).await;
    let (_, booked) = stack
        .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let payment = stack
        .app
        .store
        .get_booking(&booking)
        .await
        .expect("read")
        .expect("booking")
        .payment_id;
    let (status, body) = stack
        .delete_as(&token, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200, "{body}");
    // The clock stands still (the sweeper's retry is a minute away): the
    // stream brings the record to the worker, which pays it once.
    stack
        .eventually("the refund is paid", 20, || async {
            stack.ledger().refunded(&payment).to_string() == "80.00"
        })
        .await;
    stack
        .eventually("nothing is owed any more", 20, || async {
            stack
                .app
                .store
                .refund_due(&booking)
                .await
                .expect("read")
                .is_none()
        })
        .await;
    assert_eq!(stack.ledger().refunds.len(), 1);
}

#[tokio::test]
async fn a_refund_that_fails_is_owed_until_the_sweeper_gets_it_through() {
    let flaky = std::sync::Arc::new(evently_tests::RefundFailsOnce::default());
    let stack = Stack::start_with_waitlist_payments(
        evently_waitlist::EngineConfig::default(),
        flaky.clone(),
        std::time::Duration::from_millis(200),
    )
    .await;
    let store = &stack.app.store;
    // An event of our own (no seed needed): the demo night's shape.
    let (org_id, _) = stack.organizer("Rae").await;
    let event = stack.event_with(&org_id, 1, 2, "80.00", "USD").await;

    let (_, token) = stack.customer("Sam").await;
    let (_, hold) = stack.hold(&token, &event.id, "A", &["A-1-1"]).await;
    let (_, booked) = stack
        .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let key = format!("refund-{booking}");
    *flaky.fail_key.lock().expect("lock") = Some(key.clone());

    let (status, body) = stack
        .delete_as(&token, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200, "the cancellation stands: {body}");
    assert_eq!(body["booking"]["refund_amount"], "80.00");
    assert!(
        !flaky.refunded.lock().expect("lock").contains(&key),
        "first attempt failed"
    );
    assert_eq!(
        store
            .refunds_due(stack.app.clock.now() + chrono::Duration::hours(1))
            .await
            .expect("read")
            .len(),
        1,
        "the refund is owed"
    );

    // The sweeper's retry comes after a minute.
    stack.clock.advance(chrono::Duration::seconds(61));
    stack
        .eventually("the sweeper refunds it", 20, || async {
            flaky.refunded.lock().expect("lock").contains(&key)
        })
        .await;
    stack
        .eventually("nothing owed any more", 20, || async {
            store
                .refunds_due(stack.app.clock.now() + chrono::Duration::hours(1))
                .await
                .expect("read")
                .is_empty()
        })
        .await;
}
