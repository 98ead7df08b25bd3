//! The seed's walkthrough, Flows 2 and 3, through the whole local stack:
//! stream → queue → worker → SES, with the sweeper on a schedule.

use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::json;

async fn to_user2(stack: &Stack) -> usize {
    let mails = stack.mailbox().await;
    mails
        .iter()
        .filter(|m| m["to"][0] == "user2@example.com")
        .count()
}

#[tokio::test]
async fn a_cancellation_becomes_an_emailed_offer_that_the_next_in_line_books() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let demo = stack.event_id(DEMO_NIGHT);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let user2 = stack.login("user2@example.com", DEMO_PASSWORD).await;
    let user3 = stack.login("user3@example.com", DEMO_PASSWORD).await;

    // Flow 1: user1 books both seats.
    let (_, hold) = stack.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (status, booked) = stack
        .confirm(&user1, hold["hold_id"].as_str().unwrap_or(""), "tok_visa")
        .await;
    assert_eq!(status, 201, "{booked}");
    let booking = booked["booking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();

    // Flow 2: user2 finds it sold out (the seat map follows the booking a
    // moment later) and waits for 2 seats in A at ≤ 150.
    stack
        .eventually("the seat map shows it sold out", 10, || async {
            stack
                .get(&format!("/api/v1/events/{demo}/seats/available"), None)
                .await
                .1["sold_out"]
                == true
        })
        .await;
    let join = json!({"event_id": demo, "quantity": 2, "preferences": {"section_id": "A", "max_price": "150.00"}});
    let (status, entry) = stack
        .post_as(&user2, "/api/v1/waitlist/join", &join, None)
        .await;
    assert_eq!(
        (status, entry["entry"]["position"].as_u64()),
        (201, Some(1)),
        "{entry}"
    );

    // Flow 3: user1 cancels; user3 can never grab the seats.
    let user2_before = to_user2(&stack).await;
    let (status, _) = stack
        .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stack.hold(&user3, &demo, "A", &["A-1-1"]).await.0, 409);

    // The local endpoint's mailbox outlives a test: wait for one more email
    // to user2 than there were before the cancellation.
    stack
        .eventually("the offer email to user2", 20, || async {
            to_user2(&stack).await > user2_before
        })
        .await;
    let email = stack
        .mailbox()
        .await
        .into_iter()
        .find(|m| m["to"][0] == "user2@example.com")
        .expect("email");
    assert!(email["sent_at"].is_string(), "{email}");
    let text = email["text"].as_str().unwrap_or("");
    for needle in [
        DEMO_NIGHT,
        "A-1-1, A-1-2",
        "240.00 USD",
        "Held until",
        "127.0.0.1",
        "/offers/",
    ] {
        assert!(
            text.contains(needle),
            "{needle} not in the text part: {text}"
        );
    }
    let html = email["html"].as_str().unwrap_or("");
    let subject = email["subject"].as_str().unwrap_or("");
    assert!(subject.contains(DEMO_NIGHT), "{subject}");
    for needle in [
        DEMO_NIGHT,
        "A-1-1",
        "A-1-2",
        "240.00 USD",
        "Held until",
        "127.0.0.1",
        "/offers/",
    ] {
        assert!(html.contains(needle), "{needle} not in the email: {html}");
    }
    assert_eq!(
        stack.hold(&user3, &demo, "A", &["A-1-1", "A-1-2"]).await.0,
        409,
        "offered seats are held for user2"
    );
    let (_, status_now) = stack
        .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&user2))
        .await;
    assert_eq!(status_now["entry"]["status"], "offered");
    // A client that polls its status sees the offer (API.md's `offer`),
    // with the API path of the claim the email links to (the email links
    // to the web app's page for it, `/offers/<token>`).
    let offer = &status_now["entry"]["offer"];
    assert_eq!(offer["seat_ids"], json!(["A-1-1", "A-1-2"]), "{status_now}");
    assert_eq!(offer["section_id"], "A");
    assert_eq!(offer["total_price"], "240.00");
    assert!(offer["hold_id"].is_string() && offer["expires_at"].is_string());
    let claim = offer["claim_url"].as_str().expect("claim_url");
    let token = claim
        .strip_prefix("/api/v1/waitlist/offers/")
        .expect("an API path");
    assert!(
        text.contains(&format!("/offers/{token}")),
        "the email links to the offer page of {claim}: {text}"
    );

    // "Book from the email link": holding those seats returns the offer's hold.
    let (status, offer_hold) = stack.hold(&user2, &demo, "A", &["A-1-1", "A-1-2"]).await;
    assert_eq!(status, 201, "{offer_hold}");
    assert_eq!(offer_hold["total_price"], "240.00");
    // Someone else cannot claim user2's offer.
    let offer_hold_id = offer_hold["hold_id"].as_str().unwrap_or("");
    assert_eq!(
        stack.confirm(&user3, offer_hold_id, "tok_visa").await.0,
        403
    );
    let release = format!("/api/v1/seats/hold/{offer_hold_id}");
    assert_eq!(stack.delete_as(&user3, &release).await.0, 403);
    let (status, booked) = stack
        .confirm(
            &user2,
            offer_hold["hold_id"].as_str().unwrap_or(""),
            "tok_visa",
        )
        .await;
    assert_eq!(status, 201, "{booked}");
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&user2)).await;
    assert_eq!(mine["bookings"][0]["seat_ids"], json!(["A-1-1", "A-1-2"]));
    let (_, status_now) = stack
        .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&user2))
        .await;
    assert_eq!(status_now["entry"]["status"], "booked");
    assert!(
        status_now["entry"].get("offer").is_none(),
        "no open offer any more"
    );
    assert_eq!(stack.hold(&user3, &demo, "A", &["A-1-1"]).await.0, 409);
}

const JOIN: &str = "/api/v1/waitlist/join";

/// A stack whose Demo Night is sold out to user1, with the given waiters
/// (name, quantity, preferences) in line in that order. Returns the stack,
/// the event id, user1's booking id and the waiters' tokens.
async fn sold_out_with_line(
    stack: Stack,
    waiters: &[(&str, i64, serde_json::Value)],
) -> (Stack, String, String, Vec<String>) {
    let demo = stack.event_id(DEMO_NIGHT);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (_, hold) = stack.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (_, booked) = stack
        .confirm(&user1, hold["hold_id"].as_str().unwrap_or(""), "tok_visa")
        .await;
    let booking = booked["booking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    let mut tokens = Vec::new();
    for (name, quantity, prefs) in waiters {
        let (_, token) = stack.customer(name).await;
        let body = json!({"event_id": demo, "quantity": quantity, "preferences": prefs});
        let (status, entry) = stack.post_as(&token, JOIN, &body, None).await;
        assert_eq!(status, 201, "{entry}");
        tokens.push(token);
    }
    (stack, demo, booking, tokens)
}

async fn entry_status(stack: &Stack, demo: &str, token: &str) -> serde_json::Value {
    stack
        .get(&format!("/api/v1/waitlist/status/{demo}"), Some(token))
        .await
        .1["entry"]
        .clone()
}

/// Emails the local mailbox holds for the user behind `token`.
async fn emails_to(stack: &Stack, token: &str) -> usize {
    let me = stack.get("/api/v1/auth/me", Some(token)).await.1;
    let to = me["user"]["email"].as_str().unwrap_or("-").to_owned();
    stack
        .mailbox()
        .await
        .iter()
        .filter(|m| m["to"][0] == to.as_str())
        .count()
}

async fn cancel(stack: &Stack, booking: &str) {
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (status, body) = stack
        .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200, "{body}");
}

/// One seat freed (from two one-seat bookings), the first in line wants two.
#[tokio::test]
async fn one_freed_seat_goes_to_the_second_in_line_when_the_first_wants_two() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let demo = stack.event_id(DEMO_NIGHT);
    // Two one-seat bookings, so one seat can be freed alone.
    let (_, a) = stack.customer("SeatA").await;
    let (_, b) = stack.customer("SeatB").await;
    let (_, h) = stack.hold(&a, &demo, "A", &["A-1-1"]).await;
    let (_, one) = stack
        .confirm(&a, h["hold_id"].as_str().unwrap_or(""), "tok_visa")
        .await;
    let (_, h) = stack.hold(&b, &demo, "A", &["A-1-2"]).await;
    assert_eq!(
        stack
            .confirm(&b, h["hold_id"].as_str().unwrap_or(""), "tok_visa")
            .await
            .0,
        201
    );
    let (_, wants2) = stack.customer("Wants2").await;
    let (_, wants1) = stack.customer("Wants1").await;
    for (token, q) in [(&wants2, 2), (&wants1, 1)] {
        let (status, e) = stack
            .post_as(token, JOIN, &json!({"event_id": demo, "quantity": q}), None)
            .await;
        assert_eq!(status, 201, "{e}");
    }
    let booking = one["booking"]["id"].as_str().expect("id");
    let (status, _) = stack
        .delete_as(&a, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200);
    stack
        .eventually("an offer to the second in line", 20, || async {
            entry_status(&stack, &demo, &wants1).await["status"] == "offered"
        })
        .await;
    let first = entry_status(&stack, &demo, &wants2).await;
    assert_eq!(
        (first["status"].as_str(), first["position"].as_u64()),
        (Some("waiting"), Some(1)),
        "keeps its place"
    );
    assert_eq!(emails_to(&stack, &wants1).await, 1);
    assert_eq!(emails_to(&stack, &wants2).await, 0);
}

#[tokio::test]
async fn a_price_limit_below_the_seat_price_is_passed_over_and_unmatched_seats_go_public() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let (stack, demo, booking, tokens) =
        sold_out_with_line(stack, &[("Cheap", 2, json!({"max_price": "100.00"}))]).await;
    cancel(&stack, &booking).await;
    stack
        .eventually("the seats back on sale", 20, || async {
            stack
                .get(&format!("/api/v1/events/{demo}/seats/available"), None)
                .await
                .1["total_available"]
                == 2
        })
        .await;
    assert_eq!(
        entry_status(&stack, &demo, &tokens[0]).await["status"],
        "waiting"
    );
    assert_eq!(emails_to(&stack, &tokens[0]).await, 0);
}

#[tokio::test]
async fn an_unclaimed_offer_expires_and_cascades_to_the_next_in_line() {
    let config = evently_waitlist::EngineConfig {
        offer_ttl_secs: 120,
        ..Default::default()
    };
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        config,
        std::time::Duration::from_millis(200),
    )
    .await;
    let (stack, demo, booking, tokens) = sold_out_with_line(
        stack,
        &[
            ("First", 2, json!({})),
            ("Second", 2, json!({"section_id": "A"})),
        ],
    )
    .await;
    cancel(&stack, &booking).await;
    stack
        .eventually("the first offer", 20, || async {
            emails_to(&stack, &tokens[0]).await == 1
        })
        .await;
    // The claim link works while the offer is open.
    let notes = stack
        .get("/api/v1/notifications/me", Some(&tokens[0]))
        .await
        .1;
    assert_eq!(notes["notifications"][0]["status"], "sent");
    let me = stack.get("/api/v1/auth/me", Some(&tokens[0])).await.1;
    let mail = stack
        .mailbox()
        .await
        .into_iter()
        .find(|m| m["to"][0] == me["user"]["email"])
        .expect("the first's email");
    let html = mail["html"].as_str().unwrap_or("").to_owned();
    let token = html
        .split("/offers/")
        .nth(1)
        .and_then(|r| r.get(..32))
        .expect("claim link")
        .to_owned();
    let (status, offer) = stack
        .get(&format!("/api/v1/waitlist/offers/{token}"), None)
        .await;
    assert_eq!(
        (status, offer["status"].as_str()),
        (200, Some("open")),
        "{offer}"
    );
    assert_eq!(offer["offer"]["seat_ids"], json!(["A-1-1", "A-1-2"]));
    assert_eq!(
        stack
            .get(
                "/api/v1/waitlist/offers/0123456789abcdef0123456789abcdef",
                None
            )
            .await
            .0,
        404
    );

    stack.clock.advance(chrono::Duration::seconds(121));
    stack
        .eventually("the cascade to the second", 20, || async {
            emails_to(&stack, &tokens[1]).await == 1
        })
        .await;
    assert_eq!(
        entry_status(&stack, &demo, &tokens[0]).await["status"],
        "expired"
    );
    assert_eq!(
        entry_status(&stack, &demo, &tokens[1]).await["status"],
        "offered"
    );
    assert_eq!(
        stack
            .get(&format!("/api/v1/waitlist/offers/{token}"), None)
            .await
            .0,
        410
    );
    // The first's late claim fails: the seats are the second's now.
    let (status, _) = stack
        .hold(&tokens[0], &demo, "A", &["A-1-1", "A-1-2"])
        .await;
    assert_eq!(status, 409);

    // The bus heard it all: two offers made, the first expired, and the
    // claim token (the link's credential) never left the system.
    let mut published = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        published.extend(stack.drain_domain_events().await);
        let count = |kind: &str| {
            published
                .iter()
                .filter(|e| e["detail-type"] == kind)
                .count()
        };
        if count("WaitlistOfferCreated") == 2 && count("WaitlistOfferExpired") == 1 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "offer events so far: {published:?}"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    let expired = published
        .iter()
        .find(|e| e["detail-type"] == "WaitlistOfferExpired")
        .expect("expired");
    assert_eq!(expired["detail"]["seat_ids"], json!(["A-1-1", "A-1-2"]));
    assert!(!serde_json::to_string(&published)
        .expect("json")
        .contains(&token));
}

#[tokio::test]
async fn an_email_that_cannot_be_sent_is_retried_then_the_offer_goes_to_the_next() {
    let config = evently_waitlist::EngineConfig {
        max_email_attempts: 2,
        ..Default::default()
    };
    let stack = Stack::start_with_waitlist_sender(
        Some(SeedSize::Small),
        config,
        std::time::Duration::from_millis(200),
        "nobody@unverified.invalid",
    )
    .await;
    let (stack, demo, booking, tokens) =
        sold_out_with_line(stack, &[("Unlucky", 2, json!({})), ("Next", 2, json!({}))]).await;
    cancel(&stack, &booking).await;
    stack
        .eventually("a first failed attempt", 20, || async {
            stack
                .get("/api/v1/notifications/me", Some(&tokens[0]))
                .await
                .1["notifications"][0]["attempts"]
                == 1
        })
        .await;
    let note = stack
        .get("/api/v1/notifications/me", Some(&tokens[0]))
        .await
        .1["notifications"][0]
        .clone();
    assert_eq!(note["status"], "pending", "{note}");
    stack.clock.advance(chrono::Duration::seconds(31)); // past the 30 s backoff
    stack
        .eventually("escalation to the next in line", 20, || async {
            entry_status(&stack, &demo, &tokens[1]).await["status"] == "offered"
        })
        .await;
    let note = stack
        .get("/api/v1/notifications/me", Some(&tokens[0]))
        .await
        .1["notifications"][0]
        .clone();
    assert_eq!(
        (note["status"].as_str(), note["attempts"].as_u64()),
        (Some("failed"), Some(2)),
        "{note}"
    );
    assert_eq!(
        entry_status(&stack, &demo, &tokens[0]).await["status"],
        "expired"
    );
    assert_eq!(
        emails_to(&stack, &tokens[0]).await,
        0,
        "nothing was sent by an unverified sender"
    );
}

#[tokio::test]
async fn redelivered_messages_make_no_second_offer_and_poison_lands_in_the_dead_letter_queue() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let sources = stack.events.as_ref().expect("event sources");
    let sqs = aws_sdk_sqs::Client::new(&evently_store::aws::local_sdk_config(&stack.endpoint));
    let queue_url = sources.queues["WaitlistQueue"].clone();
    let dlq_url = sources.queues["WaitlistDeadLetterQueue"].clone();
    let engine = sources.engine;
    // A poison message first: the worker must keep serving the rest.
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body("{not json")
        .send()
        .await
        .expect("send");

    let (stack, demo, booking, tokens) = sold_out_with_line(stack, &[("Once", 2, json!({}))]).await;
    cancel(&stack, &booking).await;
    stack
        .eventually("the offer email", 20, || async {
            emails_to(&stack, &tokens[0]).await == 1
        })
        .await;
    // The same release delivered again, through the queue and straight to the worker.
    let again = json!({"event_id": demo, "section_id": "A", "seat_ids": ["A-1-1", "A-1-2"], "released_from": booking});
    sqs.send_message()
        .queue_url(&queue_url)
        .message_body(again.to_string())
        .send()
        .await
        .expect("send");
    let failed = waitlist_worker::process(
        engine,
        vec![
            ("dup-1".into(), again.to_string()),
            ("dup-2".into(), again.to_string()),
        ],
        tokio::time::Instant::now() + std::time::Duration::from_secs(30),
    )
    .await;
    assert!(failed.is_empty());
    stack
        .eventually(
            "the poison message in the dead-letter queue",
            30,
            || async {
                let out = sqs
                    .receive_message()
                    .queue_url(&dlq_url)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .expect("receive");
                out.messages().iter().any(|m| m.body() == Some("{not json"))
            },
        )
        .await;
    assert_eq!(emails_to(&stack, &tokens[0]).await, 1, "one email");
    let notes = stack
        .get("/api/v1/notifications/me", Some(&tokens[0]))
        .await
        .1;
    assert_eq!(
        notes["notifications"].as_array().map(Vec::len),
        Some(1),
        "one offer"
    );
}

#[tokio::test]
async fn leaving_with_an_open_offer_passes_it_on() {
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_secs(3600),
    )
    .await;
    let (stack, demo, booking, tokens) =
        sold_out_with_line(stack, &[("Leaver", 2, json!({})), ("Stayer", 2, json!({}))]).await;
    cancel(&stack, &booking).await;
    stack
        .eventually("the leaver's offer", 20, || async {
            emails_to(&stack, &tokens[0]).await == 1
        })
        .await;
    assert_eq!(
        stack
            .delete_as(&tokens[0], &format!("/api/v1/waitlist/{demo}"))
            .await
            .0,
        204
    );
    stack
        .eventually("the offer passed on", 20, || async {
            emails_to(&stack, &tokens[1]).await == 1
        })
        .await;
    assert_eq!(
        entry_status(&stack, &demo, &tokens[0]).await["status"],
        "left"
    );
}
