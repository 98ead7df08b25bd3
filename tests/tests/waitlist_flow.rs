//! The seed's walkthrough, Flows 2 and 3, through the whole local stack:
//! stream → queue → worker → SES, with the sweeper on a schedule.

use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::json;

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

    // Flow 2: user2 finds it sold out and waits for 2 seats in A at ≤ 150.
    let (_, avail) = stack
        .get(&format!("/api/v1/events/{demo}/seats/available"), None)
        .await;
    assert_eq!(avail["sold_out"], true);
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
    let (status, _) = stack
        .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(stack.hold(&user3, &demo, "A", &["A-1-1"]).await.0, 409);

    stack
        .eventually("the offer email to user2", 20, || async {
            stack
                .mailbox()
                .await
                .iter()
                .any(|m| m["to"][0] == "user2@example.com")
        })
        .await;
    let email = stack
        .mailbox()
        .await
        .into_iter()
        .find(|m| m["to"][0] == "user2@example.com")
        .expect("email");
    let html = email["html"].as_str().unwrap_or("");
    let subject = email["subject"].as_str().unwrap_or("");
    assert!(subject.contains(DEMO_NIGHT), "{subject}");
    for needle in [
        DEMO_NIGHT,
        "A-1-1",
        "A-1-2",
        "240.00 USD",
        "Held until",
        "/api/v1/waitlist/offers/",
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

    // "Book from the email link": holding those seats returns the offer's hold.
    let (status, offer_hold) = stack.hold(&user2, &demo, "A", &["A-1-1", "A-1-2"]).await;
    assert_eq!(status, 201, "{offer_hold}");
    assert_eq!(offer_hold["total_price"], "240.00");
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
    assert_eq!(stack.hold(&user3, &demo, "A", &["A-1-1"]).await.0, 409);
}
