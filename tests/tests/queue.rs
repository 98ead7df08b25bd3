//! The waiting room in front of an on-sale (issue 11): an organizer gives
//! a published event an admission window; people join the line and keep
//! their place on a refresh; the admitter lets them in in the order they
//! joined at the event's rate; while the room is on, a hold needs the
//! holder's own admission to that event, and not an expired one. Through
//! the gateway, every function signing as itself, the admitter stepped by
//! the test on the stack's clock.

use chrono::{DateTime, Duration, Utc};
use evently_core::clock::rfc3339;
use evently_core::Clock;
use evently_http::Config;
use evently_tests::{answer, Stack};
use serde_json::{json, Value};

async fn stack() -> Stack {
    // Every read fresh: the test moves time and steps the admitter, and
    // wants to see each step at once.
    Stack::start_with(
        None,
        Config {
            event_cache_secs: 0,
            queue_cache_ms: 0,
            ..Config::default()
        },
    )
    .await
}

async fn patch(stack: &Stack, token: &str, event: &str, body: Value) -> (u16, Value) {
    let req = stack
        .http
        .patch(stack.url(&format!("/api/v1/admin/events/{event}")))
        .bearer_auth(token)
        .json(&body);
    answer(req.send().await.expect("request")).await
}

fn admission(on_sale_at: DateTime<Utc>, rate: u32, window: u32) -> Value {
    json!({"admission": {
        "on_sale_at": rfc3339(on_sale_at),
        "rate_per_minute": rate,
        "window_seconds": window,
    }})
}

async fn join(stack: &Stack, token: &str, event: &str) -> (u16, Value) {
    stack
        .post_as(
            token,
            &format!("/api/v1/events/{event}/queue"),
            &json!({}),
            None,
        )
        .await
}

async fn ticket(stack: &Stack, token: &str, event: &str, id: &str) -> (u16, Value) {
    stack
        .get(&format!("/api/v1/events/{event}/queue/{id}"), Some(token))
        .await
}

/// Holds `seat` of section A, with an Admission-Token when given.
async fn hold(
    stack: &Stack,
    token: &str,
    event: &str,
    seat: &str,
    admission: Option<&str>,
) -> (u16, Value) {
    let mut req = stack
        .http
        .post(stack.url("/api/v1/seats/hold"))
        .bearer_auth(token)
        .json(&json!({"event_id": event, "section_id": "A", "seat_ids": [seat]}));
    if let Some(a) = admission {
        req = req.header("admission-token", a);
    }
    answer(req.send().await.expect("request")).await
}

fn id_of(answer: &Value) -> String {
    answer["ticket"]["id"]
        .as_str()
        .expect("ticket id")
        .to_owned()
}

#[tokio::test]
async fn earlier_tickets_are_admitted_first_a_refresh_keeps_the_place_and_only_an_own_live_admission_holds(
) {
    let stack = stack().await;
    let (org, org_token) = stack.organizer("Olga").await;
    let event = stack.event_with(&org, 2, 10, "50.00", "USD").await;
    let on_sale = stack.clock.now() + Duration::seconds(60);
    let (status, patched) = patch(&stack, &org_token, &event.id, admission(on_sale, 1, 120)).await;
    assert_eq!(status, 200, "{patched}");
    assert_eq!(patched["event"]["admission"]["rate_per_minute"], 1);

    let (_, ada) = stack.customer("Ada").await;
    let (_, bo) = stack.customer("Bo").await;
    let (_, cy) = stack.customer("Cy").await;
    // The room is on: no hold without an admission, even before the sale.
    let (status, refused) = hold(&stack, &ada, &event.id, "A-1-1", None).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("waiting room"),
        "{refused}"
    );

    // Ada, Bo, Cy join a second apart; the first is told she is first.
    let (status, a) = join(&stack, &ada, &event.id).await;
    assert_eq!(status, 201, "{a}");
    assert_eq!(a["ticket"]["status"], "waiting");
    assert_eq!(a["ticket"]["position"], 1);
    stack.clock.advance(Duration::seconds(1));
    let (status, b) = join(&stack, &bo, &event.id).await;
    assert_eq!(status, 201, "{b}");
    stack.clock.advance(Duration::seconds(1));
    let (status, c) = join(&stack, &cy, &event.id).await;
    assert_eq!(status, 201, "{c}");
    let (a, b, c) = (id_of(&a), id_of(&b), id_of(&c));
    assert!(a != b && b != c && a != c);

    // A refresh (joining again) is the same ticket, not a new place.
    let (status, again) = join(&stack, &bo, &event.id).await;
    assert_eq!((status, id_of(&again)), (200, b.clone()), "{again}");

    // The admitter numbers the line in join order before the on-sale (what
    // joined more than SETTLE_SECS ago), and lets nobody in yet.
    stack.clock.advance(Duration::seconds(6));
    let step = stack.admit().await;
    assert_eq!((step.numbered, step.admitted), (3, 0), "{step:?}");
    for (token, id, place) in [(&ada, &a, 1), (&bo, &b, 2), (&cy, &c, 3)] {
        let (status, t) = ticket(&stack, token, &event.id, id).await;
        assert_eq!(status, 200, "{t}");
        assert_eq!(
            (&t["ticket"]["status"], &t["ticket"]["position"]),
            (&json!("waiting"), &json!(place)),
            "{t}"
        );
        assert!(t["ticket"]["admission_token"].is_null());
        // Waiting for the on-sale at least.
        assert!(
            t["ticket"]["estimated_wait_seconds"].as_u64().unwrap_or(0) >= 50,
            "{t}"
        );
    }
    // Only the owner sees a ticket.
    let (status, _) = ticket(&stack, &ada, &event.id, &b).await;
    assert_eq!(status, 404);
    let (status, _) = ticket(&stack, &ada, &event.id, "not-a-ticket").await;
    assert_eq!(status, 404);

    // The on-sale: one a minute, earliest first.
    stack.clock.advance(Duration::seconds(60));
    stack.admit().await;
    stack.clock.advance(Duration::seconds(60));
    assert_eq!(stack.admit().await.admitted, 1);
    let (_, t) = ticket(&stack, &ada, &event.id, &a).await;
    assert_eq!(t["ticket"]["status"], "admitted", "{t}");
    let ada_pass = t["ticket"]["admission_token"]
        .as_str()
        .expect("an admission token")
        .to_owned();
    let until: DateTime<Utc> = t["ticket"]["admitted_until"]
        .as_str()
        .expect("admitted_until")
        .parse()
        .expect("a time");
    assert_eq!(until, stack.clock.now() + Duration::seconds(120));
    for (token, id, place) in [(&bo, &b, 1), (&cy, &c, 2)] {
        let (_, t) = ticket(&stack, token, &event.id, id).await;
        assert_eq!(
            (&t["ticket"]["status"], &t["ticket"]["position"]),
            (&json!("waiting"), &json!(place)),
            "{t}"
        );
    }

    // Someone else's admission is no admission; one's own holds seats.
    let (status, refused) = hold(&stack, &bo, &event.id, "A-1-2", Some(&ada_pass)).await;
    assert_eq!(status, 403, "{refused}");
    let (status, held) = hold(&stack, &ada, &event.id, "A-1-1", Some(&ada_pass)).await;
    assert_eq!(status, 201, "{held}");

    // Bo's turn; then his window runs out unused.
    stack.clock.advance(Duration::seconds(60));
    assert_eq!(stack.admit().await.admitted, 1);
    let (_, t) = ticket(&stack, &bo, &event.id, &b).await;
    assert_eq!(t["ticket"]["status"], "admitted", "{t}");
    let bo_pass = t["ticket"]["admission_token"]
        .as_str()
        .expect("token")
        .to_owned();
    stack.clock.advance(Duration::seconds(121));
    stack.admit().await;
    let (_, t) = ticket(&stack, &bo, &event.id, &b).await;
    assert_eq!(t["ticket"]["status"], "expired", "{t}");
    let (status, refused) = hold(&stack, &bo, &event.id, "A-1-2", Some(&bo_pass)).await;
    assert_eq!(status, 403, "{refused}");
    assert!(
        refused["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("expired"),
        "{refused}"
    );
    assert_eq!(stack.seat_status(&event.id, "A-1-2").await, "available");
    // Joining again after a lapsed admission is a new place at the back.
    let (status, rejoined) = join(&stack, &bo, &event.id).await;
    assert_eq!(status, 201, "{rejoined}");
    assert_ne!(id_of(&rejoined), b);
    assert_eq!(rejoined["ticket"]["status"], "waiting");

    // The organizer turns the room off: holds need no admission again.
    let (status, off) = patch(&stack, &org_token, &event.id, json!({"admission": null})).await;
    assert_eq!(status, 200, "{off}");
    assert!(off["event"]["admission"].is_null(), "{off}");
    let (status, held) = hold(&stack, &cy, &event.id, "A-2-1", None).await;
    assert_eq!(status, 201, "{held}");
}

#[tokio::test]
async fn bad_admission_settings_and_bad_queue_requests_are_refused_and_change_nothing() {
    let stack = stack().await;
    let (org, org_token) = stack.organizer("Olga").await;
    let event = stack.event_with(&org, 1, 10, "50.00", "USD").await;
    let other = stack.event_with(&org, 1, 10, "50.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let soon = stack.clock.now() + Duration::seconds(60);

    // No room yet: joining says so.
    let (status, no_room) = join(&stack, &ada, &event.id).await;
    assert_eq!(status, 409, "{no_room}");

    for (body, field) in [
        (admission(soon, 0, 600), "admission.rate_per_minute"),
        (admission(soon, 100, 5), "admission.window_seconds"),
        (
            admission(event.starts_at + Duration::hours(1), 100, 600),
            "admission.on_sale_at",
        ),
        // A published event's room must open in the future.
        (
            admission(stack.clock.now() - Duration::seconds(1), 100, 600),
            "admission.on_sale_at",
        ),
    ] {
        let (status, problem) = patch(&stack, &org_token, &event.id, body.clone()).await;
        assert_eq!(status, 422, "{body} → {problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or_default()
                .contains(field),
            "{problem}"
        );
    }
    let (status, problem) = patch(
        &stack,
        &org_token,
        &event.id,
        json!({"admission": {"on_sale_at": rfc3339(soon), "rate_per_minute": 10, "surge": true}}),
    )
    .await;
    assert_eq!(status, 422, "{problem}");
    // Nothing was set by any of them.
    let (status, still) = hold(&stack, &ada, &event.id, "A-1-1", None).await;
    assert_eq!(status, 201, "{still}");

    // Another organizer cannot set it; the owner can.
    let (_, stranger) = stack.organizer("Stranger").await;
    let (status, _) = patch(&stack, &stranger, &event.id, admission(soon, 10, 600)).await;
    assert_eq!(status, 404);
    let (status, set) = patch(&stack, &org_token, &event.id, admission(soon, 10, 600)).await;
    assert_eq!(status, 200, "{set}");

    // Joining: no token, a body with unknown fields, an unknown event.
    let (status, _) = stack
        .post(&format!("/api/v1/events/{}/queue", event.id), &json!({}))
        .await;
    assert_eq!(status, 401);
    let (status, problem) = stack
        .post_as(
            &ada,
            &format!("/api/v1/events/{}/queue", event.id),
            &json!({"position": 1}),
            None,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, _) = join(&stack, &ada, "01ARZ3NDEKTSV4RRFFQ69G5FAV").await;
    assert_eq!(status, 404);
    // None of those made a ticket: the first real join is first in line.
    let (status, first) = join(&stack, &ada, &event.id).await;
    assert_eq!(
        (status, &first["ticket"]["position"]),
        (201, &json!(1)),
        "{first}"
    );

    // Tokens that are not admissions: garbage, an access token, and a real
    // admission to another event.
    let (status, _) = hold(&stack, &ada, &event.id, "A-1-2", Some("garbage")).await;
    assert_eq!(status, 403);
    let (status, _) = hold(&stack, &ada, &event.id, "A-1-2", Some(&ada)).await;
    assert_eq!(status, 403);
    let (status, _) = patch(&stack, &org_token, &other.id, admission(soon, 10, 600)).await;
    assert_eq!(status, 200);
    let (status, joined) = join(&stack, &ada, &other.id).await;
    assert_eq!(status, 201);
    stack.clock.advance(Duration::seconds(120));
    stack.admit().await;
    stack.clock.advance(Duration::seconds(60));
    stack.admit().await;
    let (_, t) = ticket(&stack, &ada, &other.id, &id_of(&joined)).await;
    let other_pass = t["ticket"]["admission_token"]
        .as_str()
        .expect("admitted to the other event")
        .to_owned();
    let (status, refused) = hold(&stack, &ada, &event.id, "A-1-2", Some(&other_pass)).await;
    assert_eq!(status, 403, "{refused}");
    let (status, held) = hold(&stack, &ada, &other.id, "A-1-2", Some(&other_pass)).await;
    assert_eq!(status, 201, "{held}");
    assert_eq!(stack.seat_status(&event.id, "A-1-2").await, "available");

    // Once the on-sale has begun the room can be removed, not changed.
    let later = stack.clock.now() + Duration::seconds(600);
    let (status, problem) = patch(&stack, &org_token, &event.id, admission(later, 10, 600)).await;
    assert_eq!(status, 409, "{problem}");

    // Once the events start their lines close: the admitter retires them
    // and joining is refused.
    assert_eq!(stack.admit().await.lines, 2);
    stack.clock.advance(Duration::days(11));
    stack.admit().await;
    assert_eq!(stack.admit().await.lines, 0, "retired");
    let (status, problem) = join(&stack, &ada, &other.id).await;
    assert_eq!(status, 409, "{problem}");
}

#[tokio::test]
async fn joins_landing_while_the_admitter_numbers_are_never_left_behind() {
    // Many people join while the admitter steps: every ticket gets a
    // number exactly once, numbers follow join order, and none waits
    // forever unnumbered.
    let stack = stack().await;
    let (org, org_token) = stack.organizer("Olga").await;
    let event = stack.event_with(&org, 1, 10, "50.00", "USD").await;
    let soon = stack.clock.now() + Duration::seconds(3600);
    let (status, _) = patch(&stack, &org_token, &event.id, admission(soon, 100, 600)).await;
    assert_eq!(status, 200);
    let mut people = Vec::new();
    for i in 0..40 {
        people.push(stack.customer(&format!("P{i}")).await.1);
    }
    let joins = futures::future::join_all(people.iter().enumerate().map(|(i, token)| {
        let stack = &stack;
        let event = &event.id;
        async move {
            if i % 10 == 0 {
                stack.clock.advance(Duration::seconds(3));
                stack.admit().await;
            }
            let (status, t) = join(stack, token, event).await;
            assert_eq!(status, 201, "{t}");
            (token.clone(), id_of(&t))
        }
    }))
    .await;
    stack.clock.advance(Duration::seconds(6));
    stack.admit().await;
    let mut numbers = Vec::new();
    for (token, id) in &joins {
        let (_, t) = ticket(&stack, token, &event.id, id).await;
        numbers.push((
            id.clone(),
            t["ticket"]["position"].as_u64().expect("position"),
        ));
    }
    let mut positions: Vec<u64> = numbers.iter().map(|(_, p)| *p).collect();
    positions.sort_unstable();
    assert_eq!(positions, (1..=40).collect::<Vec<u64>>(), "{numbers:?}");
    // Positions follow the order keys (join time) across shards.
    numbers.sort_by_key(|(_, p)| *p);
    let orders: Vec<&str> = numbers.iter().map(|(id, _)| &id[2..]).collect();
    let mut sorted = orders.clone();
    sorted.sort_unstable();
    assert_eq!(orders, sorted);
}
