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
