//! The organizer side over HTTP against the local stack: venue templates,
//! events from them, publish, analytics kept by the stream, domain events on
//! the bus, cancelling an event (refunds, emails, waitlist closed, rerun
//! safe), authorization, and bad input that writes nothing.

use std::time::{Duration, Instant};

use evently_tests::Stack;
use reqwest::Method;
use serde_json::{json, Value};

fn venue_body(name: &str) -> Value {
    json!({
        "name": name, "city": "Porto",
        "sections": [
            {"id": "A", "name": "Stalls", "rows": 2, "seats_per_row": 4, "default_price": "50.00",
             "gaps": ["A-1-4"]},
            {"id": "B", "name": "Box", "rows": 1, "seats_per_row": 2, "default_price": "20.00"}
        ]
    })
}

fn event_body(stack: &Stack, venue_id: &str, name: &str, price_a: &str) -> Value {
    let starts = stack.app.clock.now() + chrono::Duration::days(30);
    json!({
        "venue_id": venue_id, "name": name, "description": "An evening of tests",
        "starts_at": evently_core::clock::rfc3339(starts),
        "ends_at": evently_core::clock::rfc3339(starts + chrono::Duration::hours(3)),
        "section_prices": {"A": price_a},
        "cancellation_policy": {"allowed": true, "deadline_hours": 24, "fee_type": "percentage", "fee_value": "10.00"}
    })
}

/// A template from `venue` and a published event on it with section A at
/// `price_a`, through the organizer routes; returns the event's id.
async fn published_event(
    stack: &Stack,
    org: &str,
    venue: &Value,
    name: &str,
    price_a: &str,
) -> String {
    let (status, created) = stack
        .send_as(Method::POST, org, "/api/v1/admin/venues", Some(venue))
        .await;
    assert_eq!(status, 201, "{created}");
    let venue_id = created["venue"]["id"].as_str().expect("id").to_owned();
    let (status, event) = stack
        .send_as(
            Method::POST,
            org,
            "/api/v1/admin/events",
            Some(&event_body(stack, &venue_id, name, price_a)),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let event_id = event["event"]["id"].as_str().expect("id").to_owned();
    let (status, published) = stack
        .send_as(
            Method::PATCH,
            org,
            &format!("/api/v1/admin/events/{event_id}"),
            Some(&json!({"status": "published"})),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    event_id
}

async fn started() -> Stack {
    Stack::start_with_waitlist(
        None,
        evently_waitlist::EngineConfig::default(),
        Duration::from_secs(3600),
    )
    .await
}

async fn analytics(stack: &Stack, token: &str, event_id: &str) -> Value {
    let (status, body) = stack
        .send_as(
            Method::GET,
            token,
            &format!("/api/v1/admin/events/{event_id}/analytics"),
            None,
        )
        .await;
    assert_eq!(status, 200, "{body}");
    body
}

fn kinds(events: &[Value]) -> Vec<String> {
    let mut k: Vec<String> = events
        .iter()
        .map(|e| e["detail-type"].as_str().unwrap_or("?").to_owned())
        .collect();
    k.sort();
    k
}

/// An email telling of the event's cancellation (not the confirmation
/// each booking got).
fn is_cancellation(mail: &serde_json::Value) -> bool {
    mail["subject"]
        .as_str()
        .is_some_and(|s| s.contains("is cancelled"))
}

#[tokio::test]
async fn an_organizer_runs_an_event_from_template_to_cancellation() {
    let stack = started().await;
    let (_, org) = stack.organizer("Olga").await;

    // A template, then two events from it at different prices.
    let (status, body) = stack
        .send_as(
            Method::POST,
            &org,
            "/api/v1/admin/venues",
            Some(&venue_body("Hall")),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let venue_id = body["venue"]["id"].as_str().expect("id").to_owned();
    assert_eq!(body["venue"]["capacity"], 9);
    let (_, one) = stack
        .send_as(
            Method::GET,
            &org,
            &format!("/api/v1/admin/venues/{venue_id}"),
            None,
        )
        .await;
    let seats = one["venue"]["sections"][0]["seats"]
        .as_array()
        .expect("seats");
    assert_eq!(seats.len(), 7, "2×4 minus the gap A-1-4");
    assert!(seats
        .iter()
        .any(|s| s["id"] == "A-2-4" && s["x"] == 30 && s["y"] == 10));

    let (status, gala) = stack
        .send_as(
            Method::POST,
            &org,
            "/api/v1/admin/events",
            Some(&event_body(&stack, &venue_id, "Gala", "80.00")),
        )
        .await;
    assert_eq!(status, 201, "{gala}");
    assert_eq!(gala["event"]["status"], "draft");
    assert_eq!(gala["event"]["seating"], "ready");
    let gala_id = gala["event"]["id"].as_str().expect("id").to_owned();
    let (status, matinee) = stack
        .send_as(
            Method::POST,
            &org,
            "/api/v1/admin/events",
            Some(&event_body(&stack, &venue_id, "Matinee", "35.00")),
        )
        .await;
    assert_eq!(status, 201, "{matinee}");
    let matinee_id = matinee["event"]["id"].as_str().expect("id").to_owned();

    // Editing the template changes neither event.
    let mut bigger = venue_body("Hall, renamed");
    bigger["sections"][0]["rows"] = json!(10);
    let (status, body) = stack
        .send_as(
            Method::PUT,
            &org,
            &format!("/api/v1/admin/venues/{venue_id}"),
            Some(&bigger),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (_, still) = stack
        .send_as(
            Method::GET,
            &org,
            &format!("/api/v1/admin/events/{gala_id}"),
            None,
        )
        .await;
    assert_eq!(still["event"]["total_seats"], 9);
    assert_eq!(still["event"]["venue"]["name"], "Hall");

    // Drafts are invisible to customers; publishing puts one on sale.
    let (status, _) = stack.get(&format!("/api/v1/events/{gala_id}"), None).await;
    assert_eq!(status, 404);
    let (status, body) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{gala_id}"),
            Some(&json!({"status": "published"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    let (status, public) = stack.get(&format!("/api/v1/events/{gala_id}"), None).await;
    assert_eq!(status, 200, "{public}");
    assert_eq!(
        public["price_range"],
        json!({"min": "20.00", "max": "80.00"})
    );
    let (_, layout) = stack
        .get(&format!("/api/v1/events/{gala_id}/venue-layout"), None)
        .await;
    assert_eq!(layout["sections"][0]["price"], "80.00");
    let (status, _) = stack
        .get(&format!("/api/v1/events/{matinee_id}"), None)
        .await;
    assert_eq!(status, 404, "the other event is still a draft");

    // Customers: one books the box (sells it out), one books and cancels,
    // one only holds, one waits for the box.
    let (_, ann) = stack.customer("Ann").await;
    let (_, ben) = stack.customer("Ben").await;
    let (_, cat) = stack.customer("Cat").await;
    let (_, dan) = stack.customer("Dan").await;
    let (_, held) = stack.hold(&ann, &gala_id, "B", &["B-1-1", "B-1-2"]).await;
    let (status, booked) = stack
        .confirm(&ann, held["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    assert_eq!(status, 201, "{booked}");
    let ann_booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let (_, held) = stack.hold(&ben, &gala_id, "A", &["A-1-1"]).await;
    let (_, booked) = stack
        .confirm(&ben, held["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let ben_booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let (status, cancelled) = stack
        .delete_as(&ben, &format!("/api/v1/bookings/{ben_booking}/cancel"))
        .await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["booking"]["refund_amount"], "72.00");
    let (status, cat_hold) = stack.hold(&cat, &gala_id, "A", &["A-2-1", "A-2-2"]).await;
    assert_eq!(status, 201, "{cat_hold}");
    let (status, entry) = stack
        .post_as(
            &dan,
            "/api/v1/waitlist/join",
            &json!({"event_id": gala_id, "quantity": 1, "preferences": {"section_id": "B"}}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{entry}");

    // The counters catch up with the stream.
    let deadline = Instant::now() + Duration::from_secs(20);
    let figures = loop {
        let f = analytics(&stack, &org, &gala_id).await;
        let caught_up = f["sold"] == 2
            && f["cancellations"] == 1
            && f["held"] == 2
            && f["waitlist"]["waiting"] == 1;
        if caught_up || Instant::now() > deadline {
            break f;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(figures["capacity"], 9);
    assert_eq!(figures["available"], 5);
    assert_eq!(figures["bookings"], 2);
    assert_eq!(figures["gross_sales"], "120.00");
    assert_eq!(figures["refunds"], "72.00");
    assert_eq!(figures["revenue"], "48.00", "40 + 80 − 72 refunded");
    assert_eq!(figures["utilization"], 0.2222);
    // Sales over time (the dashboard's chart): the hours add up to the
    // totals (all within the test's hour or two).
    let hours = figures["sales_by_hour"].as_array().expect("sales_by_hour");
    assert!(!hours.is_empty() && hours.len() <= 2, "{figures}");
    let sum = |field: &str| -> i64 {
        hours
            .iter()
            .map(|h| match &h[field] {
                Value::String(m) => m.replace('.', "").parse::<i64>().unwrap_or(i64::MIN),
                other => other.as_i64().unwrap_or(i64::MIN),
            })
            .sum()
    };
    assert_eq!(
        (
            sum("bookings"),
            sum("sales"),
            sum("refunds"),
            sum("cancellations")
        ),
        (2, 12_000, 7_200, 1),
        "{figures}"
    );
    assert_eq!(sum("seats_sold"), 2, "net of the cancellation: {figures}");
    // The catalog list reads the same counters; the event's own page counts.
    let (_, listed) = stack.get("/api/v1/events?q=gala", None).await;
    assert_eq!(listed["events"][0]["available_seats"], 5, "{listed}");
    let (_, one) = stack.get(&format!("/api/v1/events/{gala_id}"), None).await;
    assert_eq!(one["available_seats"], 5);
    let (_, overview) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/analytics", None)
        .await;
    assert_eq!(overview["event_count"], 2, "{overview}");
    assert_eq!(overview["capacity"], 18);
    assert_eq!(overview["sold"], 2);

    // Domain events reached the bus.
    let mut published = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        published.extend(stack.drain_domain_events().await);
        let k = kinds(&published);
        let all_there = k.contains(&"BookingCancelled".to_owned())
            && k.contains(&"WaitlistJoined".to_owned())
            && k.iter().filter(|x| *x == "BookingConfirmed").count() == 2;
        if all_there {
            break;
        }
        assert!(Instant::now() < deadline, "domain events so far: {k:?}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(kinds(&published).contains(&"EventPublished".to_owned()));
    let confirmed = published
        .iter()
        .find(|e| e["detail"]["booking_id"] == ann_booking.as_str())
        .expect("Ann's BookingConfirmed");
    assert_eq!(confirmed["source"], "evently");
    assert_eq!(confirmed["detail"]["total_price"], "40.00");

    // The organizer sees the line.
    let (_, line) = stack
        .send_as(
            Method::GET,
            &org,
            &format!("/api/v1/admin/events/{gala_id}/waitlist"),
            None,
        )
        .await;
    assert_eq!(line["entries"][0]["status"], "waiting", "{line}");
    assert_eq!(line["entries"][0]["position"], 1);
    assert_eq!(
        line["entries"][0]["user_id"],
        who(&stack, &dan).await.as_str()
    );

    // Published: the seating and terms are what people bought.
    let (status, body) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{gala_id}"),
            Some(&json!({"section_prices": {"A": "99.00"}})),
        )
        .await;
    assert_eq!(status, 409, "{body}");

    // Cancel the event: refunds, emails, the waitlist closed.
    let (status, body) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{gala_id}"),
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["status"], "cancelled");
    stack
        .eventually("Ann's booking refunded in full", 20, || async {
            let (_, b) = stack
                .send_as(
                    Method::GET,
                    &ann,
                    &format!("/api/v1/bookings/{ann_booking}"),
                    None,
                )
                .await;
            b["booking"]["status"] == "cancelled" && b["booking"]["refund_amount"] == "40.00"
        })
        .await;
    let ann_email = stack
        .app
        .store
        .get_user(&who(&stack, &ann).await)
        .await
        .expect("read")
        .expect("ann")
        .email;
    let dan_email = stack
        .app
        .store
        .get_user(&who(&stack, &dan).await)
        .await
        .expect("read")
        .expect("dan")
        .email;
    stack
        .eventually("cancellation emails in the mailbox", 20, || async {
            let mail = stack.mailbox().await;
            mail.iter().any(|m| m["to"][0] == ann_email.as_str())
                && mail.iter().any(|m| m["to"][0] == dan_email.as_str())
        })
        .await;
    let mail = stack.mailbox().await;
    let to_ann = mail
        .iter()
        .find(|m| m["to"][0] == ann_email.as_str())
        .expect("Ann's email");
    assert!(to_ann["subject"]
        .as_str()
        .unwrap_or("")
        .contains("Gala is cancelled"));
    assert!(to_ann["text"].as_str().unwrap_or("").contains("40.00"));
    assert!(to_ann["text"].as_str().unwrap_or("").contains("B-1-1"));
    let (_, entry) = stack
        .send_as(
            Method::GET,
            &dan,
            &format!("/api/v1/waitlist/status/{gala_id}"),
            None,
        )
        .await;
    assert_eq!(entry["entry"]["status"], "closed", "{entry}");

    // A hold made before the cancellation can no longer be paid for.
    let (status, body) = stack
        .confirm(
            &cat,
            cat_hold["hold_id"].as_str().expect("hold"),
            "tok_visa",
        )
        .await;
    assert_eq!(status, 409, "{body}");
    let (status, _) = stack.hold(&cat, &gala_id, "A", &["A-2-3"]).await;
    assert_eq!(status, 409, "no new holds on a cancelled event");

    // Repeating the cancel reruns the job, which finds nothing left to do.
    let (status, _) = stack
        .send_as(
            Method::PATCH,
            &org,
            &format!("/api/v1/admin/events/{gala_id}"),
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    assert_eq!(status, 200);
    stack
        .eventually("analytics show both cancellations", 20, || async {
            let f = analytics(&stack, &org, &gala_id).await;
            f["cancellations"] == 2
                && f["refunds"] == "112.00"
                && f["revenue"] == "8.00"
                && f["sold"] == 0
                && f["available"] == 0
        })
        .await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    let to_ann = stack
        .mailbox()
        .await
        .iter()
        .filter(|m| m["to"][0] == ann_email.as_str() && is_cancellation(m))
        .count();
    assert_eq!(
        to_ann, 1,
        "one email per holder, however often the job runs"
    );
    published.extend(stack.drain_domain_events().await);
    assert_eq!(
        kinds(&published)
            .iter()
            .filter(|k| *k == "EventCancelled")
            .count(),
        1
    );
}

/// The user id inside one of our test tokens.
async fn who(stack: &Stack, token: &str) -> String {
    stack.app.tokens.verify(token).await.expect("token").sub
}

#[tokio::test]
async fn customers_are_refused_and_organizers_see_only_their_own() {
    let stack = started().await;
    let (_, customer) = stack.customer("Carl").await;
    let (_, mine) = stack.organizer("Mia").await;
    let (_, theirs) = stack.organizer("Theo").await;
    let (_, venue) = stack
        .send_as(
            Method::POST,
            &mine,
            "/api/v1/admin/venues",
            Some(&venue_body("Mine")),
        )
        .await;
    let venue_id = venue["venue"]["id"].as_str().expect("id").to_owned();
    let (_, event) = stack
        .send_as(
            Method::POST,
            &mine,
            "/api/v1/admin/events",
            Some(&event_body(&stack, &venue_id, "Mine", "10.00")),
        )
        .await;
    let event_id = event["event"]["id"].as_str().expect("id").to_owned();

    // Every admin route of the template: 403 for a customer.
    for route in evently_tests::template()
        .routes
        .iter()
        .filter(|r| r.path.starts_with("/api/v1/admin"))
    {
        let path = route
            .path
            .replace("{event_id}", &event_id)
            .replace("{venue_id}", &venue_id);
        let (status, body) = stack
            .send_as(
                route.method.parse().expect("method"),
                &customer,
                &path,
                Some(&json!({})),
            )
            .await;
        assert_eq!(status, 403, "{} {path}: {body}", route.method);
    }

    // Another organizer: someone else's venue and event do not exist.
    for (method, path, body) in [
        (
            Method::GET,
            format!("/api/v1/admin/venues/{venue_id}"),
            None,
        ),
        (
            Method::PUT,
            format!("/api/v1/admin/venues/{venue_id}"),
            Some(venue_body("Stolen")),
        ),
        (
            Method::GET,
            format!("/api/v1/admin/events/{event_id}"),
            None,
        ),
        (
            Method::PATCH,
            format!("/api/v1/admin/events/{event_id}"),
            Some(json!({"status": "published"})),
        ),
        (
            Method::GET,
            format!("/api/v1/admin/events/{event_id}/analytics"),
            None,
        ),
        (
            Method::GET,
            format!("/api/v1/admin/events/{event_id}/waitlist"),
            None,
        ),
        (
            Method::POST,
            "/api/v1/admin/events".to_owned(),
            Some(event_body(&stack, &venue_id, "Borrowed", "1.00")),
        ),
    ] {
        let (status, answer) = stack
            .send_as(method.clone(), &theirs, &path, body.as_ref())
            .await;
        assert_eq!(status, 404, "{method} {path}: {answer}");
    }
    let (_, listed) = stack
        .send_as(Method::GET, &theirs, "/api/v1/admin/venues", None)
        .await;
    assert_eq!(listed["venues"], json!([]));
    let (_, listed) = stack
        .send_as(Method::GET, &theirs, "/api/v1/admin/events", None)
        .await;
    assert_eq!(listed["events"], json!([]));
    let (_, overview) = stack
        .send_as(Method::GET, &theirs, "/api/v1/admin/analytics", None)
        .await;
    assert_eq!(overview["event_count"], 0);
    // An admin sees every organizer's events.
    let (_, admin) = stack.admin("Ada").await;
    let (status, _) = stack
        .send_as(
            Method::GET,
            &admin,
            &format!("/api/v1/admin/events/{event_id}/analytics"),
            None,
        )
        .await;
    assert_eq!(status, 200);
    let (_, all) = stack
        .send_as(Method::GET, &admin, "/api/v1/admin/events", None)
        .await;
    assert!(
        all["events"]
            .as_array()
            .expect("events")
            .iter()
            .any(|e| e["id"] == event_id.as_str()),
        "{all}"
    );
    let (_, overview) = stack
        .send_as(Method::GET, &admin, "/api/v1/admin/analytics", None)
        .await;
    assert!(overview["event_count"].as_u64() >= Some(1));

    // Nothing of Mia's changed.
    let (_, still) = stack
        .send_as(
            Method::GET,
            &mine,
            &format!("/api/v1/admin/events/{event_id}"),
            None,
        )
        .await;
    assert_eq!(still["event"]["status"], "draft");
    assert_eq!(still["event"]["name"], "Mine");
}

#[tokio::test]
async fn bad_organizer_input_is_refused_and_nothing_is_written() {
    let stack = Stack::start(None).await;
    let (_, org) = stack.organizer("Bea").await;
    let post = |path: &'static str, body: Value| {
        let (stack, org) = (&stack, org.clone());
        async move { stack.send_as(Method::POST, &org, path, Some(&body)).await }
    };
    let mut bad_venues = Vec::new();
    for (field, value) in [
        ("rows", json!(0)),
        ("rows", json!(100_000)),
        ("seats_per_row", json!(-3)),
        ("default_price", json!("-5.00")),
        ("default_price", json!("5.001")),
        ("gaps", json!(["Z-1-1"])),
        ("gaps", json!(["not a seat"])),
        ("origin_x", json!(4_294_967_295u64)),
        ("origin_y", json!(-1)),
    ] {
        let mut body = venue_body("Bad");
        body["sections"][0][field] = value.clone();
        bad_venues.push((format!("{field}={value}"), body));
    }
    let mut huge = venue_body("Huge");
    huge["sections"] = json!((0..3).map(|i| json!({"id": format!("S{i}"), "name": "S", "rows": 200, "seats_per_row": 200, "default_price": "1.00"})).collect::<Vec<_>>());
    bad_venues.push(("120,000 seats".into(), huge));
    bad_venues.push((
        "no sections".into(),
        json!({"name": "Empty", "city": "X", "sections": []}),
    ));
    let mut seatless = venue_body("Seatless");
    seatless["sections"][1] = json!({"id": "B", "name": "Box", "rows": 1, "seats_per_row": 1,
        "default_price": "20.00", "gaps": ["B-1-1"]});
    bad_venues.push(("a section without seats".into(), seatless));
    bad_venues.push((
        "unknown field".into(),
        json!({"name": "X", "city": "X", "sections": [], "roof": true}),
    ));
    for (what, body) in bad_venues {
        let (status, answer) = post("/api/v1/admin/venues", body).await;
        assert!(status == 422 || status == 400, "{what}: {status} {answer}");
    }
    let (_, listed) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/venues", None)
        .await;
    assert_eq!(listed["venues"], json!([]), "nothing written");

    let (status, venue) = post("/api/v1/admin/venues", venue_body("Good")).await;
    assert_eq!(status, 201);
    let venue_id = venue["venue"]["id"].as_str().expect("id").to_owned();
    let now = stack.app.clock.now();
    let at = |h: i64| evently_core::clock::rfc3339(now + chrono::Duration::hours(h));
    let mut bad_events = Vec::new();
    for (what, patch) in [
        ("negative price", json!({"section_prices": {"A": "-1.00"}})),
        ("three decimals", json!({"section_prices": {"A": "1.005"}})),
        ("unknown section", json!({"section_prices": {"Q": "1.00"}})),
        (
            "in the past",
            json!({"starts_at": at(-2), "ends_at": at(-1)}),
        ),
        (
            "ends before it starts",
            json!({"starts_at": at(50), "ends_at": at(49)}),
        ),
        // Starts in 10 h with a 24 h deadline: cancellation closed already.
        (
            "deadline in the past",
            json!({"starts_at": at(10), "ends_at": at(12)}),
        ),
        (
            "fee over 100%",
            json!({"cancellation_policy": {"allowed": true, "deadline_hours": 1, "fee_type": "percentage", "fee_value": "150.00"}}),
        ),
        ("unknown venue", json!({"venue_id": evently_core::new_id()})),
    ] {
        let mut body = event_body(&stack, &venue_id, "Bad", "10.00");
        for (k, v) in patch.as_object().expect("object") {
            body[k] = v.clone();
        }
        bad_events.push((what, body));
    }
    for (what, body) in bad_events {
        let (status, answer) = post("/api/v1/admin/events", body).await;
        assert!(
            [400, 404, 422].contains(&status),
            "{what}: {status} {answer}"
        );
        assert_eq!(answer["status"], status, "problem+json: {answer}");
    }
    let (_, listed) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/events", None)
        .await;
    assert_eq!(listed["events"], json!([]), "nothing written");

    // A draft edited badly stays as it was.
    let (_, event) = post(
        "/api/v1/admin/events",
        event_body(&stack, &venue_id, "Fine", "10.00"),
    )
    .await;
    let event_id = event["event"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/admin/events/{event_id}");
    for body in [
        json!({"section_prices": {"A": "-2.00"}}),
        json!({"status": "draftish"}),
        json!({"starts_at": at(-5)}),
        json!({"seats": 10}),
    ] {
        let (status, answer) = stack.send_as(Method::PATCH, &org, &path, Some(&body)).await;
        assert!([400, 422].contains(&status), "{body}: {status} {answer}");
    }
    let (_, after) = stack.send_as(Method::GET, &org, &path, None).await;
    assert_eq!(after["event"], event["event"], "unchanged");
}

#[tokio::test]
async fn a_half_materialised_draft_is_finished_before_it_is_published() {
    let stack = Stack::start(None).await;
    let (org_id, org) = stack.organizer("Hal").await;
    let (_, venue) = stack
        .send_as(
            Method::POST,
            &org,
            "/api/v1/admin/venues",
            Some(&venue_body("Half")),
        )
        .await;
    let venue = stack
        .app
        .store
        .get_venue(venue["venue"]["id"].as_str().expect("id"))
        .await
        .expect("read")
        .expect("venue");
    // What a create that died after writing one section looks like.
    let input: evently_core::admin::EventInput =
        serde_json::from_value(event_body(&stack, &venue.id, "Interrupted", "10.00"))
            .expect("input");
    let event = input
        .into_event(
            evently_core::new_id(),
            org_id,
            &venue,
            stack.app.clock.now(),
        )
        .expect("event");
    stack.app.store.create_event(&event).await.expect("event");
    let first = &venue.sections[0];
    stack
        .app
        .store
        .put_seats(
            &event.id,
            &first.seats(),
            evently_core::Money::from_cents(1_000),
        )
        .await
        .expect("seats");
    let path = format!("/api/v1/admin/events/{}", event.id);
    let (_, before) = stack.send_as(Method::GET, &org, &path, None).await;
    assert_eq!(before["event"]["seating"], "materialising");

    let (status, body) = stack
        .send_as(
            Method::PATCH,
            &org,
            &path,
            Some(&json!({"status": "published"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["event"]["status"], "published");
    assert_eq!(body["event"]["seating"], "ready");
    let (_, layout) = stack
        .get(&format!("/api/v1/events/{}/venue-layout", event.id), None)
        .await;
    let seats: usize = layout["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["seats"].as_array().map_or(0, Vec::len))
        .sum();
    assert_eq!(seats, 9, "every seat exists once published");
}

#[tokio::test]
async fn a_retried_create_with_the_same_idempotency_key_makes_one() {
    let stack = Stack::start(None).await;
    let (_, org) = stack.organizer("Ida").await;
    let venue = venue_body("Once");
    let (first_status, first) = stack
        .post_as(&org, "/api/v1/admin/venues", &venue, Some("venue-key-1"))
        .await;
    let (again_status, again) = stack
        .post_as(&org, "/api/v1/admin/venues", &venue, Some("venue-key-1"))
        .await;
    assert_eq!((first_status, again_status), (201, 201));
    assert_eq!(first, again, "the first answer, replayed");
    let venue_id = first["venue"]["id"].as_str().expect("id").to_owned();
    let event = event_body(&stack, &venue_id, "Once", "10.00");
    let (_, e1) = stack
        .post_as(&org, "/api/v1/admin/events", &event, Some("event-key-1"))
        .await;
    let (_, e2) = stack
        .post_as(&org, "/api/v1/admin/events", &event, Some("event-key-1"))
        .await;
    assert_eq!(e1["event"]["id"], e2["event"]["id"]);
    let mut other = event.clone();
    other["name"] = json!("Something else");
    let (status, _) = stack
        .post_as(&org, "/api/v1/admin/events", &other, Some("event-key-1"))
        .await;
    assert_eq!(status, 422, "same key, different body");
    let (_, venues) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/venues", None)
        .await;
    let (_, events) = stack
        .send_as(Method::GET, &org, "/api/v1/admin/events", None)
        .await;
    assert_eq!(venues["venues"].as_array().map(Vec::len), Some(1));
    assert_eq!(events["events"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_cancellation_too_big_for_one_run_continues_in_the_next() {
    // A budget of zero: every run stops after its first handful of
    // bookings and asks for another, as a huge event would at 20 s.
    let stack = Stack::start_with_waitlist(
        None,
        evently_waitlist::EngineConfig {
            job_budget_secs: 0,
            ..Default::default()
        },
        Duration::from_secs(3600),
    )
    .await;
    let (_, org) = stack.organizer("Kim").await;
    let mut big = venue_body("Big");
    big["sections"][0]["rows"] = json!(10);
    big["sections"][0]["seats_per_row"] = json!(10);
    let event_id = published_event(&stack, &org, &big, "Big night", "20.00").await;
    let path = format!("/api/v1/admin/events/{event_id}");
    let mut bookings = Vec::new();
    for i in 1..=12 {
        let (_, token) = stack.customer(&format!("Fan{i}")).await;
        let (_, hold) = stack
            .hold(
                &token,
                &event_id,
                "A",
                &[&format!("A-{}-{}", 2 + i / 5, 1 + i % 5)],
            )
            .await;
        let (status, booked) = stack
            .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
            .await;
        assert_eq!(status, 201, "{booked}");
        bookings.push(booked["booking"]["id"].as_str().expect("id").to_owned());
    }
    stack
        .send_as(
            Method::PATCH,
            &org,
            &path,
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    stack
        .eventually("every booking cancelled over several runs", 30, || async {
            let mut all = true;
            for id in &bookings {
                let b = stack
                    .app
                    .store
                    .get_booking(id)
                    .await
                    .expect("read")
                    .expect("booking");
                all &= b.status == evently_core::BookingStatus::Cancelled;
            }
            all
        })
        .await;
    let event = stack
        .app
        .store
        .get_event(&event_id)
        .await
        .expect("read")
        .expect("event");
    // The request was run 1; 12 bookings at 8 a run need a second.
    assert!(
        event.cancel_runs >= 2,
        "12 bookings, 8 a run: a run after the request's, got {}",
        event.cancel_runs
    );
    let sent: usize = {
        let mut n = 0;
        for id in &bookings {
            let b = stack
                .app
                .store
                .get_booking(id)
                .await
                .expect("read")
                .expect("booking");
            n += stack
                .app
                .store
                .user_notifications(&b.user_id)
                .await
                .expect("read")
                .iter()
                .filter(|note| note.kind == "event_cancelled")
                .count();
        }
        n
    };
    assert_eq!(sent, 12, "one cancellation email per booking");
}

#[tokio::test]
async fn a_refund_that_fails_during_an_event_cancellation_is_owed_and_paid_by_the_sweeper() {
    let flaky = std::sync::Arc::new(evently_tests::RefundFailsOnce::default());
    let stack = Stack::start_with_waitlist_payments(
        evently_waitlist::EngineConfig::default(),
        flaky.clone(),
        Duration::from_millis(200),
    )
    .await;
    let (_, org) = stack.organizer("Max").await;
    let event_id =
        published_event(&stack, &org, &venue_body("Flaky"), "Flaky night", "30.00").await;
    let path = format!("/api/v1/admin/events/{event_id}");
    let mut holders = Vec::new();
    for (i, seat) in ["A-2-1", "A-2-2", "A-2-3"].iter().enumerate() {
        let (user_id, token) = stack.customer(&format!("Holder{i}")).await;
        let (_, hold) = stack.hold(&token, &event_id, "A", &[seat]).await;
        let (status, booked) = stack
            .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
            .await;
        assert_eq!(status, 201, "{booked}");
        holders.push((
            user_id,
            booked["booking"]["id"].as_str().expect("id").to_owned(),
        ));
    }
    // The second holder's refund fails the first time it is asked for.
    let failing = format!("refund-{}", holders[1].1);
    *flaky.fail_key.lock().expect("lock") = Some(failing.clone());

    stack
        .send_as(
            Method::PATCH,
            &org,
            &path,
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    // The job does not stop at the failed refund: every booking is
    // cancelled, and the refund that failed is recorded as owed.
    stack
        .eventually("all three bookings cancelled", 30, || async {
            let mut all = true;
            for (_, id) in &holders {
                let b = stack
                    .app
                    .store
                    .get_booking(id)
                    .await
                    .expect("read")
                    .expect("booking");
                all &= b.status == evently_core::BookingStatus::Cancelled;
            }
            all
        })
        .await;
    // The refunds are paid after the cancellations (the stream brings
    // each record to the worker): two go through, one fails and stays owed.
    stack
        .eventually("the failure happened, the others paid", 30, || async {
            flaky.fail_key.lock().expect("lock").is_none()
                && flaky.refunded.lock().expect("lock").len() == 2
        })
        .await;
    let owed = stack
        .app
        .store
        .refunds_due(stack.app.clock.now() + chrono::Duration::hours(1))
        .await
        .expect("read");
    let owed: Vec<String> = owed.iter().map(|o| o.key()).collect();
    assert_eq!(owed, std::slice::from_ref(&failing));
    assert!(!flaky.refunded.lock().expect("lock").contains(&failing));
    // The sweeper pays it once its minute has passed; every holder is
    // refunded exactly once.
    stack.clock.advance(chrono::Duration::seconds(61));
    stack
        .eventually("the owed refund paid", 20, || async {
            flaky.refunded.lock().expect("lock").contains(&failing)
        })
        .await;
    let refunded = flaky.refunded.lock().expect("lock").clone();
    for (_, booking) in &holders {
        let key = format!("refund-{booking}");
        assert_eq!(
            refunded.iter().filter(|k| **k == key).count(),
            1,
            "{refunded:?}"
        );
    }
    // Exactly one email per holder: each arrives (the job sends them
    // after its changes, late on a busy machine), and no second follows.
    let mut emails = Vec::new();
    for (user_id, _) in &holders {
        emails.push(
            stack
                .app
                .store
                .get_user(user_id)
                .await
                .expect("read")
                .expect("user")
                .email,
        );
    }
    stack
        .eventually("every holder's cancellation email", 20, || async {
            let mailbox = stack.mailbox().await;
            emails
                .iter()
                .all(|e| mailbox.iter().any(|m| m["to"][0] == e.as_str()))
        })
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    for (user_id, _) in &holders {
        let email = stack
            .app
            .store
            .get_user(user_id)
            .await
            .expect("read")
            .expect("user")
            .email;
        let count = stack
            .mailbox()
            .await
            .iter()
            .filter(|m| m["to"][0] == email.as_str() && is_cancellation(m))
            .count();
        assert_eq!(count, 1, "{email}");
    }
}

#[tokio::test]
async fn once_the_organizer_cancels_customers_cannot_cancel_under_the_policy() {
    // No event sources: the cancellation job never runs, so the booking is
    // still confirmed when its owner tries to cancel it with a fee.
    let stack = Stack::start(None).await;
    let (_, org) = stack.organizer("Noa").await;
    let event_id = published_event(&stack, &org, &venue_body("Fee"), "Fee night", "50.00").await;
    let path = format!("/api/v1/admin/events/{event_id}");
    let (_, token) = stack.customer("Ola").await;
    let (_, hold) = stack.hold(&token, &event_id, "A", &["A-2-2"]).await;
    let (_, booked) = stack
        .confirm(&token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking_id = booked["booking"]["id"].as_str().expect("id").to_owned();
    stack
        .send_as(
            Method::PATCH,
            &org,
            &path,
            Some(&json!({"status": "cancelled"})),
        )
        .await;
    let (status, body) = stack
        .delete_as(&token, &format!("/api/v1/bookings/{booking_id}/cancel"))
        .await;
    assert_eq!(status, 409, "{body}");
    assert!(body["detail"]
        .as_str()
        .unwrap_or("")
        .contains("refunded in full"));
    let b = stack
        .app
        .store
        .get_booking(&booking_id)
        .await
        .expect("read")
        .expect("booking");
    assert_eq!(
        b.status,
        evently_core::BookingStatus::Confirmed,
        "left for the job"
    );
}

#[tokio::test]
async fn seats_too_many_for_one_request_are_written_over_several_and_nothing_is_lost() {
    // A request budget of 4 s: a step of 1,000 seats starts only with 3 s
    // left (or twice what the last step took), so each request writes a
    // step, says so, and the next one resumes. The seat writes are slowed
    // so that a step takes over a second on any machine (10 rounds of 4
    // batches, each answered 100 ms late): a fast endpoint would otherwise
    // write every step in the first request.
    let stack = Stack::start_with(
        None,
        evently_http::Config {
            request_budget_ms: Some(4_000),
            ..Default::default()
        },
    )
    .await;
    let (_, org) = stack.organizer("Big").await;
    let venue = json!({"name": "Long Hall", "city": "Porto", "sections": [
        {"id": "A", "name": "Stalls", "rows": 50, "seats_per_row": 100, "default_price": "12.00"}]});
    let (status, created) = stack
        .send_as(Method::POST, &org, "/api/v1/admin/venues", Some(&venue))
        .await;
    assert_eq!(status, 201, "{created}");
    let venue_id = created["venue"]["id"].as_str().expect("id");
    stack
        .faults(
            1,
            json!([{"fault": "timeout", "operations": ["BatchWriteItem"], "delay_ms": 100}]),
        )
        .await;
    let (status, event) = stack
        .send_as(
            Method::POST,
            &org,
            "/api/v1/admin/events",
            Some(&event_body(&stack, venue_id, "Long night", "12.00")),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(
        event["event"]["seating"], "materialising",
        "2,500 seats do not fit one request"
    );
    let id = event["event"]["id"].as_str().expect("id").to_owned();
    let mut patches = 0;
    let published = loop {
        patches += 1;
        let (status, body) = stack
            .send_as(
                Method::PATCH,
                &org,
                &format!("/api/v1/admin/events/{id}"),
                Some(&json!({"status": "published"})),
            )
            .await;
        match status {
            200 => break body,
            503 if patches < 10 => continue,
            _ => panic!("{status} {body}"),
        }
    };
    stack.no_faults().await;
    assert_eq!(published["event"]["status"], "published");
    assert!(
        patches >= 2,
        "the publish needed more than one request: {patches}"
    );
    let (_, avail) = stack
        .get(&format!("/api/v1/events/{id}/seats/available"), None)
        .await;
    assert_eq!(
        avail["total_available"], 5000,
        "every seat written once resumed"
    );
}

#[tokio::test]
async fn a_big_events_seats_are_written_by_the_seating_job_without_the_organizer() {
    // A create with little time (8 s), and a seating job whose runs are as
    // short (each writes what fits and asks for the next run): 6,000 seats
    // take several runs.
    let stack = Stack::start_opts(evently_tests::Options {
        config: evently_http::Config {
            request_budget_ms: Some(8_000),
            ..Default::default()
        },
        waitlist: Some((
            evently_waitlist::EngineConfig {
                job_budget_secs: 6,
                ..Default::default()
            },
            std::time::Duration::from_secs(1),
        )),
        ..Default::default()
    })
    .await;
    let (_, org) = stack.organizer("Sal").await;
    let sections: Vec<Value> = (0..3)
        .map(|i| {
            json!({"id": format!("S{i}"), "name": format!("Stand {i}"), "rows": 40,
                        "seats_per_row": 50, "default_price": "30.00"})
        })
        .collect();
    let venue = json!({"name": "Stadium", "city": "Lisbon", "sections": sections});
    let (status, venue) = stack
        .send_as(Method::POST, &org, "/api/v1/admin/venues", Some(&venue))
        .await;
    assert_eq!(status, 201, "{venue}");
    let mut body = event_body(
        &stack,
        venue["venue"]["id"].as_str().expect("id"),
        "Final",
        "30.00",
    );
    body["section_prices"] = json!({});
    // Seat writes slowed (each BatchWriteItem answered 300 ms late: a
    // 1,000-seat step takes over 3 s on any machine, and the next is
    // started only with twice that left), so the create writes one step
    // and each job run one more: a fast endpoint would otherwise write
    // them all at once.
    stack
        .faults(
            1,
            json!([{"fault": "timeout", "operations": ["BatchWriteItem"], "delay_ms": 300}]),
        )
        .await;
    let (status, created) = stack
        .send_as(Method::POST, &org, "/api/v1/admin/events", Some(&body))
        .await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["event"]["seating"], "materialising", "{created}");
    let id = created["event"]["id"].as_str().expect("id").to_owned();
    let path = format!("/api/v1/admin/events/{id}");

    // Nobody sends anything more: the job finishes the seats by itself.
    stack
        .eventually("the seating job writes every seat", 120, || async {
            let (_, event) = stack.send_as(Method::GET, &org, &path, None).await;
            event["event"]["seating"] == "ready"
        })
        .await;
    stack.no_faults().await;
    let mut written = 0;
    for section in ["S0", "S1", "S2"] {
        written += stack.section_seats(&id, section).await.len();
    }
    assert_eq!(written, 6_000);
    let runs = stack
        .oracle
        .get_event(&id)
        .await
        .expect("read")
        .expect("event")
        .seating_runs;
    assert!(
        runs >= 2,
        "one run per few steps, each asking for the next: {runs}"
    );
    let (status, published) = stack
        .send_as(
            Method::PATCH,
            &org,
            &path,
            Some(&json!({"status": "published"})),
        )
        .await;
    assert_eq!(status, 200, "{published}");
    assert_eq!(published["event"]["total_seats"], 6_000);
}
