//! The public catalog over HTTP: listing with cursor, search and time
//! filters; one event; the seat map and the available seats, as of now.

use evently_core::Clock;
use std::collections::HashMap;

use aws_sdk_dynamodb::types::AttributeValue;
use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT};
use serde_json::Value;

const EVENTS: &str = "/api/v1/events";

/// Puts a seat of the stack's table into a state directly, as the hold and
/// booking functions will (their own issue); here only the reads are tested.
async fn set_seat(stack: &Stack, event_id: &str, seat_id: &str, attrs: &[(&str, AttributeValue)]) {
    let seat: evently_core::SeatId = seat_id.parse().expect("a seat id");
    let mut req = stack
        .app
        .store
        .client()
        .update_item()
        .table_name(stack.app.store.table())
        .key(
            "PK",
            AttributeValue::S(evently_store::keys::seat_row(event_id, &seat)),
        )
        .key("SK", AttributeValue::S(format!("SEAT#{seat_id}")))
        .condition_expression("attribute_exists(PK)");
    let mut sets = Vec::new();
    for (i, (name, value)) in attrs.iter().enumerate() {
        sets.push(format!("#a{i} = :v{i}"));
        req = req
            .expression_attribute_names(format!("#a{i}"), *name)
            .expression_attribute_values(format!(":v{i}"), value.clone());
    }
    req.update_expression(format!("SET {}", sets.join(", ")))
        .send()
        .await
        .expect("seat exists");
}

fn s(v: &str) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: i64) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

#[tokio::test]
async fn the_catalog_lists_published_events_by_start_with_their_availability() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let (status, body) = stack.get(EVENTS, None).await;
    assert_eq!(status, 200, "{body}");
    let events = body["events"].as_array().expect("events");
    let names: Vec<&str> = events.iter().filter_map(|e| e["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "Midnight Jazz Quartet",
            DEMO_NIGHT,
            "Chamber Strings: Late Beethoven"
        ]
    );
    assert_eq!(body["next_cursor"], Value::Null);
    let demo = &events[1];
    assert_eq!(demo["status"], "published");
    assert_eq!(demo["currency"], "USD");
    assert_eq!(demo["total_seats"], 2);
    assert_eq!(demo["available_seats"], 2);
    assert_eq!(demo["sold_out"], false);
    assert_eq!(
        demo["price_range"],
        serde_json::json!({"min": "120.00", "max": "120.00"})
    );
    assert_eq!(demo["venue"]["name"], "Evently Studio");
    assert_eq!(demo["cancellation_policy"]["fee_type"], "none");
    let starts: Vec<&str> = events
        .iter()
        .filter_map(|e| e["starts_at"].as_str())
        .collect();
    assert!(starts.windows(2).all(|w| w[0] <= w[1]), "{starts:?}");
    assert!(starts[0].ends_with('Z'));
}

#[tokio::test]
async fn paging_by_cursor_visits_every_event_once() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let mut seen = Vec::new();
    let mut path = format!("{EVENTS}?limit=1");
    for _ in 0..10 {
        let (status, body) = stack.get(&path, None).await;
        assert_eq!(status, 200, "{body}");
        let page = body["events"].as_array().expect("events");
        assert!(page.len() <= 1);
        seen.extend(
            page.iter()
                .map(|e| e["id"].as_str().expect("id").to_owned()),
        );
        match body["next_cursor"].as_str() {
            Some(c) => path = format!("{EVENTS}?limit=1&cursor={c}"),
            None => break,
        }
    }
    let all: Vec<String> = stack
        .seeded
        .as_ref()
        .expect("seeded")
        .events
        .iter()
        .map(|e| e.id.clone())
        .collect();
    let mut sorted_seen = seen.clone();
    sorted_seen.sort();
    sorted_seen.dedup();
    assert_eq!(sorted_seen.len(), seen.len(), "no event twice: {seen:?}");
    assert_eq!(seen.len(), all.len());
}

#[tokio::test]
async fn search_and_time_window_narrow_the_list() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let names = |body: &Value| -> Vec<String> {
        body["events"]
            .as_array()
            .expect("events")
            .iter()
            .map(|e| e["name"].as_str().unwrap_or("").to_owned())
            .collect()
    };
    let (_, body) = stack.get(&format!("{EVENTS}?q=DEMO%20night"), None).await;
    assert_eq!(names(&body), [DEMO_NIGHT]);
    let (_, body) = stack.get(&format!("{EVENTS}?q=zzz-nothing"), None).await;
    assert!(names(&body).is_empty());

    let jazz = stack
        .app
        .store
        .get_event(&stack.event_id("Midnight Jazz Quartet"))
        .await
        .expect("get")
        .expect("jazz");
    let day = |d: chrono::DateTime<chrono::Utc>| evently_core::clock::rfc3339(d);
    let (status, body) = stack
        .get(
            &format!(
                "{EVENTS}?from={}&to={}",
                day(jazz.starts_at),
                day(jazz.starts_at)
            ),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(names(&body), ["Midnight Jazz Quartet"]);
}

#[tokio::test]
async fn bad_catalog_queries_are_400_and_unknown_events_404() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    for q in [
        "limit=0",
        "limit=101",
        "limit=ten",
        "cursor=bogus",
        "from=yesterday",
        "to=2020-01-01T00:00:00Z",
    ] {
        let (status, body) = stack.get(&format!("{EVENTS}?{q}"), None).await;
        assert_eq!(status, 400, "{q}: {body}");
    }
    let unknown = evently_core::new_id();
    for path in [
        format!("{EVENTS}/{unknown}"),
        format!("{EVENTS}/not-an-id"),
        format!("{EVENTS}/{unknown}/venue-layout"),
        format!("{EVENTS}/{unknown}/seats/available"),
        "/api/v1/nothing-here".to_owned(),
    ] {
        assert_eq!(stack.get(&path, None).await.0, 404, "{path}");
    }
    let demo = stack.event_id(DEMO_NIGHT);
    let (status, _) = stack
        .get(
            &format!("{EVENTS}/{demo}/seats/available?section_id=Z"),
            None,
        )
        .await;
    assert_eq!(status, 404);
    let resp = stack
        .http
        .post(stack.url(&format!("{EVENTS}/{demo}")))
        .send()
        .await
        .expect("send");
    assert_eq!(resp.status().as_u16(), 405);
    assert_eq!(
        resp.headers().get("allow").and_then(|v| v.to_str().ok()),
        Some("GET")
    );
    let (status, _) = stack.get(&format!("{EVENTS}?cursor="), None).await;
    assert_eq!(status, 200, "an empty cursor is the first page");
    // A well-formed cursor from outside the window asked for (forged, or
    // from an older query): 400, not a DynamoDB error.
    use base64::Engine;
    let id = evently_core::new_id();
    for sk in [
        format!("2000-01-01T00:00:00Z#{id}"),
        format!("9999-01-01T00:00:00Z#{id}"),
    ] {
        let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(serde_json::json!({"sk": sk, "id": id}).to_string());
        let (status, body) = stack
            .get(
                &format!("{EVENTS}?cursor={forged}&to=2100-01-01T00:00:00Z"),
                None,
            )
            .await;
        assert_eq!(status, 400, "{sk}: {body}");
    }
}

#[tokio::test]
async fn drafts_are_neither_listed_nor_shown() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let mut draft = stack
        .app
        .store
        .get_event(&stack.event_id(DEMO_NIGHT))
        .await
        .expect("get")
        .expect("demo");
    draft.id = evently_core::new_id();
    draft.name = "Secret Draft".into();
    draft.status = evently_core::EventStatus::Draft;
    stack
        .app
        .store
        .create_event(&draft)
        .await
        .expect("put draft");
    let (_, body) = stack.get(&format!("{EVENTS}?q=secret"), None).await;
    assert_eq!(body["events"].as_array().map(Vec::len), Some(0));
    assert_eq!(
        stack.get(&format!("{EVENTS}/{}", draft.id), None).await.0,
        404
    );
}

#[tokio::test]
async fn seat_map_and_availability_reflect_holds_bookings_and_expiry() {
    let stack = Stack::start_live(Some(SeedSize::Small)).await;
    let jazz = stack.event_id("Midnight Jazz Quartet");
    // The handlers' clock (fixed at the stack's start), not the wall's: a
    // start that took over a second under load once made "expired a second
    // ago" still live to the handlers, and the map never showed 296.
    let now = stack.clock.now().timestamp();
    set_seat(
        &stack,
        &jazz,
        "ORCH-1-1",
        &[("status", s("booked")), ("booking_id", s("b1"))],
    )
    .await;
    let live_hold = [
        ("status", s("held")),
        ("hold_id", s("h1")),
        ("holder_id", s("u1")),
        ("hold_expires_at", n(now + 600)),
    ];
    set_seat(&stack, &jazz, "ORCH-1-2", &live_hold).await;
    let expired_hold = [
        ("status", s("held")),
        ("hold_id", s("h2")),
        ("holder_id", s("u1")),
        ("hold_expires_at", n(now - 1)),
    ];
    set_seat(&stack, &jazz, "ORCH-1-3", &expired_hold).await;

    // The seat map follows the seats through the table's stream.
    let layout = stack
        .eventually_some(
            "the seat map shows the booking and the live hold",
            // The stream's lag under a loaded 2-core machine.
            30,
            || async {
                let (status, layout) = stack
                    .get(&format!("{EVENTS}/{jazz}/venue-layout"), None)
                    .await;
                assert_eq!(status, 200, "{layout}");
                (layout["sections"][0]["available"] == 296).then_some(layout)
            },
        )
        .await;
    assert_eq!(layout["venue"]["city"], "Porto");
    let orch = &layout["sections"][0];
    assert_eq!(
        (orch["id"].as_str(), orch["price"].as_str()),
        (Some("ORCH"), Some("65.00"))
    );
    assert_eq!(orch["capacity"], 298);
    assert_eq!(orch["available"], 296);
    let seats: HashMap<&str, &Value> = orch["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .map(|s| (s["id"].as_str().unwrap_or(""), s))
        .collect();
    assert_eq!(seats.len(), 298, "15×20 minus two pillars");
    assert!(!seats.contains_key("ORCH-8-5"), "pillar is not a seat");
    assert_eq!(seats["ORCH-1-1"]["status"], "booked");
    assert_eq!(seats["ORCH-1-2"]["status"], "held");
    assert_eq!(
        seats["ORCH-1-3"]["status"], "available",
        "an expired hold is free"
    );
    assert_eq!(
        (
            seats["ORCH-1-4"]["x"].as_u64(),
            seats["ORCH-1-4"]["y"].as_u64()
        ),
        (Some(30), Some(0))
    );
    assert_eq!(
        (
            seats["ORCH-2-1"]["row"].as_u64(),
            seats["ORCH-2-1"]["number"].as_u64()
        ),
        (Some(2), Some(1))
    );

    let (_, avail) = stack
        .get(
            &format!("{EVENTS}/{jazz}/seats/available?section_id=ORCH"),
            None,
        )
        .await;
    assert_eq!(avail["total_available"], 296);
    assert_eq!(avail["sections"].as_array().map(Vec::len), Some(1));
    let ids: Vec<&str> = avail["sections"][0]["available_seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    assert!(!ids.contains(&"ORCH-1-1") && !ids.contains(&"ORCH-1-2") && ids.contains(&"ORCH-1-3"));
    let (_, event) = stack.get(&format!("{EVENTS}/{jazz}"), None).await;
    assert_eq!(event["available_seats"], 456);
}

#[tokio::test]
async fn an_event_with_every_seat_booked_is_sold_out() {
    let stack = Stack::start_live(Some(SeedSize::Small)).await;
    let demo = stack.event_id(DEMO_NIGHT);
    for seat in ["A-1-1", "A-1-2"] {
        set_seat(
            &stack,
            &demo,
            seat,
            &[("status", s("booked")), ("booking_id", s("b"))],
        )
        .await;
    }
    let avail = stack
        .eventually_some("the seat map shows both seats booked", 10, || async {
            let (_, avail) = stack
                .get(&format!("{EVENTS}/{demo}/seats/available"), None)
                .await;
            (avail["sold_out"] == true).then_some(avail)
        })
        .await;
    assert_eq!(avail["total_available"], 0, "{avail}");
    let (_, event) = stack.get(&format!("{EVENTS}/{demo}"), None).await;
    assert_eq!(
        (
            event["sold_out"].as_bool(),
            event["available_seats"].as_u64()
        ),
        (Some(true), Some(0))
    );
}

/// The answer and its headers.
async fn get_with(
    stack: &Stack,
    path: &str,
    if_none_match: Option<&str>,
) -> (u16, Option<String>, Option<String>, String) {
    let mut req = stack.http.get(stack.url(path));
    if let Some(tag) = if_none_match {
        req = req.header("if-none-match", tag);
    }
    let resp = req.send().await.expect("send");
    let header = |name: &str| {
        resp.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let (etag, cache) = (header("etag"), header("cache-control"));
    let status = resp.status().as_u16();
    (status, etag, cache, resp.text().await.expect("body"))
}

#[tokio::test]
async fn a_drawn_seat_map_is_cached_and_kept_current_cheaply() {
    let stack = Stack::start_live(Some(SeedSize::Small)).await;
    let jazz = stack.event_id("Midnight Jazz Quartet");
    // The layout alone never changes once published: cacheable for an
    // hour, and a client holding it is told 304.
    let plain = format!("{EVENTS}/{jazz}/venue-layout?status=false");
    let (status, etag, cache, body) = get_with(&stack, &plain, None).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(cache.as_deref(), Some("public, max-age=3600"));
    let layout: Value = serde_json::from_str(&body).expect("json");
    let orch = &layout["sections"][0];
    assert_eq!(orch["seats"].as_array().map(Vec::len), Some(298));
    assert!(
        orch["seats"][0].get("status").is_none(),
        "{}",
        orch["seats"][0]
    );
    let etag = etag.expect("an ETag");
    let (status, _, _, body) = get_with(&stack, &plain, Some(&etag)).await;
    assert_eq!((status, body.as_str()), (304, ""));

    // With statuses: revalidated every time, 304 while nothing changed,
    // a new answer once a seat is held.
    let live = format!("{EVENTS}/{jazz}/venue-layout");
    let (status, etag, cache, _) = get_with(&stack, &live, None).await;
    assert_eq!((status, cache.as_deref()), (200, Some("no-cache")));
    let etag = etag.expect("an ETag");
    assert_eq!(get_with(&stack, &live, Some(&etag)).await.0, 304);
    let (_, ada) = stack.customer("Ada").await;
    let (status, held) = stack.hold(&ada, &jazz, "ORCH", &["ORCH-1-2"]).await;
    assert_eq!(status, 201, "{held}");
    stack
        .eventually("the layout's tag changes with the hold", 10, || async {
            get_with(&stack, &live, Some(&etag)).await.0 == 200
        })
        .await;

    // The compact availability: one character per seat in layout order.
    let (status, compact) = stack
        .get(
            &format!("{EVENTS}/{jazz}/seats/available?format=compact&section_id=ORCH"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{compact}");
    let section = &compact["sections"][0];
    let marks = section["seat_status"].as_str().expect("seat_status");
    assert_eq!(marks.len(), 298);
    let ids: Vec<&str> = orch["seats"]
        .as_array()
        .expect("seats")
        .iter()
        .filter_map(|s| s["id"].as_str())
        .collect();
    let at = ids.iter().position(|id| *id == "ORCH-1-2").expect("seat");
    assert_eq!(&marks[at..=at], "h", "{marks}");
    assert_eq!(marks.matches('a').count(), 297);
    assert_eq!(
        (
            section["available"].as_u64(),
            compact["total_available"].as_u64()
        ),
        (Some(297), Some(297))
    );

    // Parameters it does not know are refused, not ignored.
    for path in [
        format!("{EVENTS}/{jazz}/venue-layout?status=maybe"),
        format!("{EVENTS}/{jazz}/seats/available?format=xml"),
    ] {
        let (status, problem) = stack.get(&path, None).await;
        assert_eq!(status, 400, "{path}: {problem}");
    }
}
