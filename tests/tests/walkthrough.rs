//! End to end over HTTP against the full demo data (the 4,200-seat arena
//! included): register → login → me → events → venue layout → available seats.

use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT};
use serde_json::json;

#[tokio::test]
async fn a_visitor_signs_up_and_finds_a_seat_to_buy() {
    let stack = Stack::start(Some(SeedSize::Full)).await;
    let (status, _) = stack
        .post(
            "/api/v1/auth/register",
            &json!({"email": "walker@example.com", "password": "a long passphrase", "name": "Walker"}),
        )
        .await;
    assert_eq!(status, 201);
    let token = stack.login("walker@example.com", "a long passphrase").await;
    let (status, me) = stack.get("/api/v1/auth/me", Some(&token)).await;
    assert_eq!(
        (status, me["user"]["email"].as_str()),
        (200, Some("walker@example.com"))
    );

    let (status, list) = stack.get("/api/v1/events", None).await;
    assert_eq!(status, 200);
    let events = list["events"].as_array().expect("events");
    assert_eq!(events.len(), 4);
    let arena = events
        .iter()
        .find(|e| e["name"] == "Harbor Lights Festival")
        .expect("arena event");
    assert_eq!(arena["total_seats"], 4200);
    assert_eq!(arena["available_seats"], 4200);
    let demo = events
        .iter()
        .find(|e| e["name"] == DEMO_NIGHT)
        .expect("demo night");
    let demo_id = demo["id"].as_str().expect("id");

    let (status, layout) = stack
        .get(&format!("/api/v1/events/{demo_id}/venue-layout"), None)
        .await;
    assert_eq!(status, 200);
    let a = &layout["sections"][0];
    assert_eq!(
        (a["id"].as_str(), a["price"].as_str()),
        (Some("A"), Some("120.00"))
    );
    let seat_ids: Vec<&str> = a["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert_eq!(seat_ids, ["A-1-1", "A-1-2"]);

    let (status, avail) = stack
        .get(&format!("/api/v1/events/{demo_id}/seats/available"), None)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        (
            avail["sold_out"].as_bool(),
            avail["total_available"].as_u64()
        ),
        (Some(false), Some(2))
    );

    let arena_id = arena["id"].as_str().expect("id");
    let (status, big) = stack
        .get(&format!("/api/v1/events/{arena_id}/venue-layout"), None)
        .await;
    assert_eq!(status, 200);
    let seats: usize = big["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["seats"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(seats, 4200);
}

/// The seed's Flow 1: user1 books both seats of Evently Demo Night.
#[tokio::test]
async fn user1_books_both_seats_of_demo_night_and_it_sells_out() {
    let stack = Stack::start_live(Some(SeedSize::Small)).await;
    let token = stack
        .login("user1@example.com", evently_tests::DEMO_PASSWORD)
        .await;
    let (_, list) = stack.get("/api/v1/events?q=demo", None).await;
    let demo = list["events"][0]["id"]
        .as_str()
        .expect("demo night")
        .to_owned();
    let (_, layout) = stack
        .get(&format!("/api/v1/events/{demo}/venue-layout"), None)
        .await;
    let seats: Vec<String> = layout["sections"][0]["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["id"].as_str().map(str::to_owned))
        .collect();
    let body = json!({"event_id": demo, "section_id": "A", "seat_ids": seats});
    let (status, hold) = stack
        .post_as(&token, "/api/v1/seats/hold", &body, Some("flow-1-hold"))
        .await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(hold["total_price"], "240.00");
    let (status, confirmed) = stack
        .post_as(
            &token,
            "/api/v1/bookings/confirm",
            &json!({"hold_id": hold["hold_id"], "payment_details": {"card_token": "tok_visa"}}),
            Some("flow-1-confirm"),
        )
        .await;
    assert_eq!(status, 201, "{confirmed}");
    let (_, mine) = stack.get("/api/v1/bookings/me", Some(&token)).await;
    assert_eq!(mine["bookings"][0]["id"], confirmed["booking"]["id"]);
    assert_eq!(mine["bookings"][0]["seat_ids"], json!(["A-1-1", "A-1-2"]));
    // The seat map follows the seats through the stream, a moment later.
    stack
        .eventually("the demo night shows sold out", 10, || async {
            let (_, avail) = stack
                .get(&format!("/api/v1/events/{demo}/seats/available"), None)
                .await;
            let (_, event) = stack.get(&format!("/api/v1/events/{demo}"), None).await;
            avail["sold_out"] == true && event["sold_out"] == true
        })
        .await;
}
