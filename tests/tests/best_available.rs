//! Best available seats (issue 12): `POST /api/v1/seats/hold` with a
//! quantity instead of seat ids picks adjacent seats, front and centre,
//! without stranding a single seat where another block fits; bad requests
//! are refused and hold nothing; a rush never oversells.

use std::collections::HashSet;

use evently_tests::Stack;
use serde_json::{json, Value};

async fn best(stack: &Stack, token: &str, body: Value) -> (u16, Value) {
    stack
        .post_as(token, "/api/v1/seats/hold", &body, None)
        .await
}

fn seats_of(hold: &Value) -> Vec<String> {
    hold["seat_ids"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| s.as_str().expect("id").to_owned())
        .collect()
}

/// (row, number) of a seat id `S-row-number`.
fn place(seat: &str) -> (u32, u32) {
    let mut parts = seat.rsplitn(3, '-');
    let number = parts.next().and_then(|n| n.parse().ok()).expect("number");
    let row = parts.next().and_then(|n| n.parse().ok()).expect("row");
    (row, number)
}

fn adjacent(seats: &[String]) -> bool {
    let places: Vec<(u32, u32)> = seats.iter().map(|s| place(s)).collect();
    places
        .windows(2)
        .all(|w| w[0].0 == w[1].0 && w[0].1 + 1 == w[1].1)
}

#[tokio::test]
async fn best_available_is_adjacent_front_and_centre_and_strands_nobody() {
    let stack = Stack::start_live(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 3, 10, "30.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let (status, hold) = best(&stack, &ada, json!({"event_id": event.id, "quantity": 2})).await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(seats_of(&hold), ["A-1-5", "A-1-6"], "front row, centre");
    assert_eq!(hold["total_price"], "60.00");

    // Row 1 keeps seats 8–10 free once someone holds 1–7 (around Ada's).
    let (_, bob) = stack.customer("Bob").await;
    let (status, _) = stack
        .hold(
            &bob,
            &event.id,
            "A",
            &["A-1-1", "A-1-2", "A-1-3", "A-1-4", "A-1-7"],
        )
        .await;
    assert_eq!(status, 201);
    stack
        .eventually("the seat map shows row 1's holds", 20, || async {
            let (_, a) = stack
                .get(
                    &format!("/api/v1/events/{}/seats/available", event.id),
                    None,
                )
                .await;
            a["total_available"] == 23
        })
        .await;
    // Two people: 8–9 or 9–10 would leave one seat alone in row 1; row 2
    // has room without that.
    let (_, cem) = stack.customer("Cem").await;
    let (status, hold) = best(&stack, &cem, json!({"event_id": event.id, "quantity": 2})).await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(seats_of(&hold), ["A-2-5", "A-2-6"]);
    // Three fill 8–10 exactly: the front row again.
    let (_, dan) = stack.customer("Dan").await;
    let (status, hold) = best(&stack, &dan, json!({"event_id": event.id, "quantity": 3})).await;
    assert_eq!(status, 201, "{hold}");
    assert_eq!(seats_of(&hold), ["A-1-8", "A-1-9", "A-1-10"]);
}

#[tokio::test]
async fn bad_best_available_requests_are_refused_and_hold_nothing() {
    let stack = Stack::start(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 2, 5, "30.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    for (body, status, field) in [
        (
            json!({"event_id": event.id, "quantity": 0}),
            422,
            Some("quantity"),
        ),
        (
            json!({"event_id": event.id, "quantity": 11}),
            422,
            Some("quantity"),
        ),
        (json!({"event_id": event.id}), 422, Some("quantity")),
        (
            json!({"event_id": event.id, "quantity": 2, "max_price": "29.99"}),
            422,
            Some("max_price"),
        ),
        (
            json!({"event_id": event.id, "quantity": 2, "max_price": "cheap"}),
            422,
            None,
        ),
        (
            json!({"event_id": event.id, "quantity": 2, "section_id": "Z"}),
            404,
            None,
        ),
        (
            json!({"event_id": event.id, "section_id": "A", "seat_ids": ["A-1-1"], "quantity": 1}),
            422,
            Some("seat_ids"),
        ),
        (
            json!({"event_id": event.id, "seat_ids": ["A-1-1"]}),
            422,
            Some("section_id"),
        ),
        (
            json!({"event_id": event.id, "quantity": 2, "nearby": true}),
            422,
            None,
        ),
    ] {
        let (got, problem) = best(&stack, &ada, body.clone()).await;
        assert_eq!(got, status, "{body}: {problem}");
        if let Some(field) = field {
            assert_eq!(problem["field"], field, "{body}: {problem}");
        }
    }
    assert_eq!(
        stack.free_seats(&event.id, "A").await.len(),
        10,
        "nothing held"
    );
    // More than the house has: 409, nothing held.
    let (_, bob) = stack.customer("Bob").await;
    let (status, _) = best(&stack, &bob, json!({"event_id": event.id, "quantity": 10})).await;
    assert_eq!(status, 201);
    let (status, problem) = best(&stack, &ada, json!({"event_id": event.id, "quantity": 1})).await;
    assert!(status == 409, "{problem}");
}

#[tokio::test]
async fn two_hundred_best_available_requests_at_once_never_oversell() {
    let stack = Stack::start(None).await;
    let (org, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org, 6, 10, "30.00", "USD").await;
    let mut people = Vec::new();
    for i in 0..200 {
        people.push(stack.customer(&format!("Fan{i}")).await.1);
    }
    let rush = people.iter().enumerate().map(|(i, token)| {
        let stack = &stack;
        let id = &event.id;
        async move { best(stack, token, json!({"event_id": id, "quantity": 1 + i % 3})).await }
    });
    let answers = futures::future::join_all(rush).await;
    let mut taken: HashSet<String> = HashSet::new();
    let mut held = 0;
    for (status, body) in &answers {
        match status {
            201 => {
                let seats = seats_of(body);
                for s in &seats {
                    assert!(taken.insert(s.clone()), "{s} held twice");
                }
                held += 1;
                // The map in this stack is empty (no stream): choices come
                // from what the lost races taught, still together when
                // the rows allow.
                assert!(!seats.is_empty());
            }
            // 409: taken, or the best kept being taken; 503: the request
            // ran out of time under the rush (try again; its outcome is
            // not claimed).
            409 | 503 => {}
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(held > 0);
    let free = stack.free_seats(&event.id, "A").await;
    assert!(
        free.len() + taken.len() <= 60,
        "no seat answered as held to two people, none both free and held"
    );
    assert!(taken.iter().all(|s| !free.contains(s)));
    // Most sit together: scattered seats are only the last resort when no
    // row has a free run long enough (which the end of a rush can leave).
    let holds: Vec<Vec<String>> = answers
        .iter()
        .filter(|(s, _)| *s == 201)
        .map(|(_, b)| seats_of(b))
        .collect();
    let together = holds.iter().filter(|s| adjacent(s)).count();
    assert!(
        together * 10 >= holds.len() * 8,
        "{together} of {} together",
        holds.len()
    );
}
