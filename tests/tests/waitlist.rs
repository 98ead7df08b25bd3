//! Joining, watching and leaving the waitlist over HTTP.

use chrono::Duration;
use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::{json, Value};

const JOIN: &str = "/api/v1/waitlist/join";

/// Books both seats of Demo Night as user1, so it is sold out.
async fn sell_out_demo_night(stack: &Stack) -> (String, String) {
    let demo = stack.event_id(DEMO_NIGHT);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (_, hold) = stack.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (status, booking) = stack
        .confirm(&user1, hold["hold_id"].as_str().unwrap_or(""), "tok_visa")
        .await;
    assert_eq!(status, 201, "{booking}");
    (
        demo,
        booking["booking"]["id"].as_str().unwrap_or("").to_owned(),
    )
}

fn join_body(event: &str, quantity: i64, prefs: Value) -> Value {
    json!({"event_id": event, "quantity": quantity, "preferences": prefs})
}

#[tokio::test]
async fn people_wait_in_order_and_move_up_when_someone_leaves() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let (demo, _) = sell_out_demo_night(&stack).await;
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let (_, cy) = stack.customer("Cy").await;
    let (status, body) = stack
        .post_as(
            &ada,
            JOIN,
            &join_body(&demo, 2, json!({"section_id": "A", "max_price": "150.00"})),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let entry = &body["entry"];
    assert_eq!(
        (entry["status"].as_str(), entry["position"].as_u64()),
        (Some("waiting"), Some(1))
    );
    assert_eq!(
        entry["preferences"],
        json!({"section_id": "A", "max_price": "150.00"})
    );
    assert_eq!(
        stack
            .post_as(&bob, JOIN, &join_body(&demo, 1, json!({})), None)
            .await
            .0,
        201
    );
    assert_eq!(
        stack
            .post_as(&cy, JOIN, &join_body(&demo, 1, json!({})), None)
            .await
            .0,
        201
    );

    let status_of = |token: String| {
        let stack = &stack;
        let demo = demo.clone();
        async move {
            stack
                .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&token))
                .await
        }
    };
    assert_eq!(status_of(cy.clone()).await.1["entry"]["position"], 3);
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/waitlist/{demo}"))
            .await
            .0,
        204
    );
    assert_eq!(status_of(bob.clone()).await.1["entry"]["position"], 1);
    assert_eq!(status_of(cy.clone()).await.1["entry"]["position"], 2);
    let (status, left) = status_of(ada.clone()).await;
    assert_eq!(
        (
            status,
            left["entry"]["status"].as_str(),
            &left["entry"]["position"]
        ),
        (200, Some("left"), &Value::Null)
    );

    // Joining twice is refused; after leaving, one may join again, at the back.
    assert_eq!(
        stack
            .post_as(&bob, JOIN, &join_body(&demo, 1, json!({})), None)
            .await
            .0,
        409
    );
    let (status, again) = stack
        .post_as(&ada, JOIN, &join_body(&demo, 2, json!({})), None)
        .await;
    assert_eq!(
        (status, again["entry"]["position"].as_u64()),
        (201, Some(3))
    );
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/waitlist/{demo}"))
            .await
            .0,
        204
    );
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/waitlist/{demo}"))
            .await
            .0,
        404
    );

    // Everyone's own list: Cy waits, second, for Demo Night; Ada's two
    // entries, both left, the newest first; nobody else's.
    let (status, mine) = stack.get("/api/v1/waitlist/me", Some(&cy)).await;
    assert_eq!(status, 200, "{mine}");
    let entries = mine["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 1, "{mine}");
    assert_eq!(
        (
            entries[0]["status"].as_str(),
            entries[0]["position"].as_u64(),
            entries[0]["event"]["name"].as_str()
        ),
        (Some("waiting"), Some(2), Some(DEMO_NIGHT))
    );
    let (_, mine) = stack.get("/api/v1/waitlist/me", Some(&ada)).await;
    let entries = mine["entries"].as_array().expect("entries");
    assert_eq!(entries.len(), 2, "{mine}");
    assert!(entries.iter().all(|e| e["status"] == "left"), "{mine}");
    assert_eq!(entries[0]["id"], again["entry"]["id"], "newest first");
    assert_eq!(stack.get("/api/v1/waitlist/me", None).await.0, 401);
}

#[tokio::test]
async fn bad_joins_are_refused_and_put_nobody_in_line() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let (demo, _) = sell_out_demo_night(&stack).await;
    let jazz = stack.event_id("Midnight Jazz Quartet");
    let (_, ada) = stack.customer("Ada").await;
    let cases: Vec<(Value, u16)> = vec![
        (join_body(&demo, 0, json!({})), 422),
        (join_body(&demo, 11, json!({})), 422),
        (join_body(&demo, -1, json!({})), 422),
        (join_body(&demo, 1, json!({"max_price": "-1.00"})), 422),
        (join_body(&demo, 1, json!({"max_price": "1.005"})), 422),
        (join_body(&demo, 1, json!({"max_price": 150})), 422),
        (join_body(&demo, 1, json!({"section_id": "Z"})), 422),
        (join_body(&demo, 1, json!({"seat": "A-1-1"})), 422),
        (json!({"event_id": demo}), 422),
        (join_body(&evently_core::new_id(), 1, json!({})), 404),
        (join_body(&jazz, 2, json!({})), 409), // seats are available: hold them
        (
            join_body(
                &jazz,
                2,
                json!({"section_id": "MEZZ", "max_price": "50.00"}),
            ),
            409,
        ),
    ];
    for (body, want) in cases {
        let (status, problem) = stack.post_as(&ada, JOIN, &body, None).await;
        assert_eq!(status, want, "{body}: {problem}");
    }
    assert_eq!(stack.post_raw(JOIN, json!({}).to_string()).await.0, 401);
    let (status, _) = stack
        .get(&format!("/api/v1/waitlist/status/{demo}"), Some(&ada))
        .await;
    assert_eq!(status, 404, "none of the above joined");
    assert_eq!(
        stack
            .get("/api/v1/waitlist/status/not-an-id", Some(&ada))
            .await
            .0,
        404
    );
    assert_eq!(
        stack
            .delete_as(&ada, &format!("/api/v1/waitlist/{demo}"))
            .await
            .0,
        404
    );

    // Available seats that do not fit the preferences do not stop a join.
    let (status, body) = stack
        .post_as(
            &ada,
            JOIN,
            &join_body(&jazz, 2, json!({"max_price": "40.00"})),
            None,
        )
        .await;
    assert_eq!(status, 201, "{body}");
    // Nor can anyone join once the event has started.
    stack.clock.advance(Duration::days(31));
    let (_, bob) = stack.customer("Bob").await;
    assert_eq!(
        stack
            .post_as(&bob, JOIN, &join_body(&demo, 1, json!({})), None)
            .await
            .0,
        409
    );
}

#[tokio::test]
async fn a_cancellation_while_people_wait_keeps_the_seats_from_the_public() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let (demo, booking) = sell_out_demo_night(&stack).await;
    let user2 = stack.login("user2@example.com", DEMO_PASSWORD).await;
    let (status, _) = stack
        .post_as(
            &user2,
            JOIN,
            &join_body(&demo, 2, json!({"section_id": "A", "max_price": "150.00"})),
            Some("join-1"),
        )
        .await;
    assert_eq!(status, 201);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (status, _) = stack
        .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200);
    let user3 = stack.login("user3@example.com", DEMO_PASSWORD).await;
    let (status, problem) = stack.hold(&user3, &demo, "A", &["A-1-1", "A-1-2"]).await;
    assert_eq!(status, 409, "{problem}");
    assert_eq!(stack.free_seats(&demo, "A").await, Vec::<String>::new());
}
