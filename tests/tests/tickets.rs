//! Tickets and the door (issue 12): a ticket per booked seat with a signed
//! code and its QR picture; check-in once, concurrently too; door staff;
//! the attendee list as JSON and CSV; check-ins in the analytics.

use evently_tests::Stack;
use serde_json::{json, Value};

async fn book(stack: &Stack, token: &str, event: &str, seats: &[&str]) -> String {
    let (status, hold) = stack.hold(token, event, "A", seats).await;
    assert_eq!(status, 201, "{hold}");
    let (status, booked) = stack
        .confirm(token, hold["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    assert_eq!(status, 201, "{booked}");
    booked["booking"]["id"].as_str().expect("id").to_owned()
}

async fn tickets(stack: &Stack, token: &str, booking: &str) -> Vec<Value> {
    let (status, body) = stack
        .get(&format!("/api/v1/bookings/{booking}/tickets"), Some(token))
        .await;
    assert_eq!(status, 200, "{body}");
    body["tickets"].as_array().expect("tickets").clone()
}

fn code(ticket: &Value) -> String {
    ticket["code"].as_str().expect("code").to_owned()
}

async fn scan(stack: &Stack, token: &str, event: &str, code: &str) -> (u16, Value) {
    stack
        .post_as(
            token,
            &format!("/api/v1/admin/events/{event}/check-ins"),
            &json!({ "code": code }),
            None,
        )
        .await
}

async fn email_of(stack: &Stack, user_id: &str) -> String {
    stack
        .app
        .store
        .get_user(user_id)
        .await
        .expect("read")
        .expect("user")
        .email
}

#[tokio::test]
async fn a_booking_is_a_ticket_per_seat_and_the_door_lets_each_in_once() {
    let stack = Stack::start_live(None).await;
    let (org_id, org) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 2, 6, "25.00", "USD").await;
    let other = stack.event_with(&org_id, 1, 4, "10.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let (_, bob) = stack.customer("Bob").await;
    let booking = book(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;

    let mine = tickets(&stack, &ada, &booking).await;
    assert_eq!(mine.len(), 2);
    for (t, seat) in mine.iter().zip(["A-1-1", "A-1-2"]) {
        assert_eq!(t["seat_id"], seat);
        assert_eq!(t["status"], "valid");
        assert!(
            t["qr_svg"]
                .as_str()
                .is_some_and(|s| s.starts_with("<?xml") || s.contains("<svg")),
            "{t}"
        );
        assert!(code(t).starts_with(&booking), "{t}");
    }
    assert_ne!(code(&mine[0]), code(&mine[1]));
    // Someone else's booking is not there for them.
    let (status, _) = stack
        .get(&format!("/api/v1/bookings/{booking}/tickets"), Some(&bob))
        .await;
    assert_eq!(status, 404);

    // The first scan lets the ticket in; every later one says when.
    let (status, first) = scan(&stack, &org, &event.id, &code(&mine[0])).await;
    assert_eq!(status, 200, "{first}");
    assert_eq!(first["ticket"]["seat_id"], "A-1-1");
    assert_eq!(first["ticket"]["status"], "checked_in");
    let at = first["checked_in_at"].clone();
    assert!(at.is_string(), "{first}");
    let (status, again) = scan(&stack, &org, &event.id, &code(&mine[0])).await;
    assert_eq!((status, &again["checked_in_at"]), (409, &at), "{again}");
    let now = tickets(&stack, &ada, &booking).await;
    assert_eq!(
        (now[0]["status"].as_str(), now[1]["status"].as_str()),
        (Some("checked_in"), Some("valid"))
    );

    // Codes we did not sign, and tickets of another event: 422.
    let genuine = code(&mine[1]);
    let forged = format!("{}0000", &genuine[..genuine.len() - 4]);
    let other_booking = book(&stack, &ada, &other.id, &["A-1-1"]).await;
    let elsewhere = code(&tickets(&stack, &ada, &other_booking).await[0]);
    for bad in [
        forged.as_str(),
        "garbage",
        &booking,
        &format!("{booking}-2"),
        &elsewhere,
    ] {
        let (status, problem) = scan(&stack, &org, &event.id, bad).await;
        assert_eq!(
            (status, problem["field"].as_str()),
            (422, Some("code")),
            "{bad}: {problem}"
        );
    }
    for body in [
        json!({}),
        json!({"code": 7}),
        json!({"code": ""}),
        json!({"code": "x", "door": 1}),
    ] {
        let (status, _) = stack
            .post_as(
                &org,
                &format!("/api/v1/admin/events/{}/check-ins", event.id),
                &body,
                None,
            )
            .await;
        assert_eq!(status, 422, "{body}");
    }
    // A customer scanning is refused; another organizer does not see it.
    assert_eq!(scan(&stack, &ada, &event.id, &genuine).await.0, 403);
    let (_, rival) = stack.organizer("Rival").await;
    assert_eq!(scan(&stack, &rival, &event.id, &genuine).await.0, 404);
    assert_eq!(
        tickets(&stack, &ada, &booking).await[1]["status"],
        "valid",
        "nothing refused was let in"
    );

    // Door staff: Bob may scan and read attendees of this event only,
    // until the organizer takes it away.
    let staff = format!("/api/v1/admin/events/{}/staff", event.id);
    let bob_id = stack.app.tokens.verify(&bob).await.expect("claims").sub;
    let (status, added) = stack
        .post_as(
            &org,
            &staff,
            &json!({"email": email_of(&stack, &bob_id).await}),
            None,
        )
        .await;
    assert_eq!(status, 201, "{added}");
    assert_eq!(added["staff"]["user_id"], bob_id.as_str());
    for (who, body, want) in [
        (&org, json!({"email": "nobody@example.test"}), 422),
        (&org, json!({"email": "not an email"}), 422),
        (&org, json!({}), 422),
        (&ada, json!({"email": "x@example.test"}), 403),
        (&rival, json!({"email": "x@example.test"}), 404),
    ] {
        assert_eq!(
            stack.post_as(who, &staff, &body, None).await.0,
            want,
            "{body}"
        );
    }
    // The organizer sees who is on the door (and only the organizer).
    let (status, list) = stack.get(&staff, Some(&org)).await;
    assert_eq!(status, 200, "{list}");
    let on_door: Vec<&str> = list["staff"]
        .as_array()
        .expect("staff")
        .iter()
        .filter_map(|m| m["user_id"].as_str())
        .collect();
    assert_eq!(on_door, [bob_id.as_str()], "{list}");
    assert_eq!(list["staff"][0]["name"], "Bob");
    assert_eq!(stack.get(&staff, Some(&bob)).await.0, 403);
    assert_eq!(stack.get(&staff, Some(&rival)).await.0, 404);
    let (status, let_in) = scan(&stack, &bob, &event.id, &genuine).await;
    assert_eq!(status, 200, "{let_in}");
    assert_eq!(scan(&stack, &bob, &other.id, &elsewhere).await.0, 403);
    let attendees = format!("/api/v1/admin/events/{}/attendees", event.id);
    assert_eq!(stack.get(&attendees, Some(&bob)).await.0, 200);
    let removal = format!("{staff}/{bob_id}");
    assert_eq!(stack.delete_as(&ada, &removal).await.0, 403);
    assert_eq!(stack.delete_as(&org, &removal).await.0, 204);
    assert_eq!(stack.delete_as(&org, &removal).await.0, 404);
    assert_eq!(stack.get(&attendees, Some(&bob)).await.0, 403);
    let (_, list) = stack.get(&staff, Some(&org)).await;
    assert_eq!(list["staff"], json!([]), "removed from the list");

    // A cancelled booking's tickets are void at the door.
    let (_, cem) = stack.customer("Cem").await;
    let cancelled = book(&stack, &cem, &event.id, &["A-2-1"]).await;
    let void = code(&tickets(&stack, &cem, &cancelled).await[0]);
    let (status, _) = stack
        .delete_as(&cem, &format!("/api/v1/bookings/{cancelled}/cancel"))
        .await;
    assert_eq!(status, 200);
    assert_eq!(tickets(&stack, &cem, &cancelled).await[0]["status"], "void");
    assert_eq!(scan(&stack, &org, &event.id, &void).await.0, 410);

    // The attendee list: who, which seats, which are in.
    let (status, list) = stack.get(&attendees, Some(&org)).await;
    assert_eq!(status, 200, "{list}");
    let rows = list["attendees"].as_array().expect("rows");
    assert_eq!(rows.len(), 2, "{list}");
    assert_eq!(rows[0]["booking_id"], booking.as_str());
    assert_eq!(rows[0]["name"], "Ada");
    assert_eq!(rows[0]["checked_in"], json!(["A-1-1", "A-1-2"]));
    assert_eq!(rows[1]["status"], "cancelled");
    assert!(list["next_cursor"].is_null());
    // Page by page.
    let (_, page) = stack.get(&format!("{attendees}?limit=1"), Some(&org)).await;
    let cursor = page["next_cursor"].as_str().expect("cursor").to_owned();
    let (_, rest) = stack
        .get(&format!("{attendees}?limit=1&cursor={cursor}"), Some(&org))
        .await;
    assert_eq!(rest["attendees"][0]["booking_id"], cancelled.as_str());
    for bad in ["?limit=0", "?limit=1001", "?limit=x", "?cursor=nope"] {
        assert_eq!(
            stack.get(&format!("{attendees}{bad}"), Some(&org)).await.0,
            422,
            "{bad}"
        );
    }
    // As a CSV download.
    let resp = stack
        .http
        .get(stack.url(&attendees))
        .bearer_auth(&org)
        .header("accept", "text/csv")
        .send()
        .await
        .expect("csv");
    assert_eq!(resp.status(), 200);
    assert!(resp.headers()["content-type"]
        .to_str()
        .expect("type")
        .starts_with("text/csv"));
    let text = resp.text().await.expect("body");
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines[0], "booking_id,name,email,seat_ids,status,checked_in");
    assert!(
        lines[1].starts_with(&format!("{booking},Ada,"))
            && lines[1].ends_with(",A-1-1 A-1-2,confirmed,A-1-1 A-1-2"),
        "{text}"
    );
    assert_eq!(lines.len(), 3, "{text}");

    // The organizer's analytics count the tickets scanned in.
    stack
        .eventually("two check-ins in the analytics", 20, || async {
            let (_, a) = stack
                .get(
                    &format!("/api/v1/admin/events/{}/analytics", event.id),
                    Some(&org),
                )
                .await;
            a["checked_in"] == 2
        })
        .await;
}

#[tokio::test]
async fn doors_scanning_the_same_tickets_at_once_let_each_in_exactly_once() {
    let stack = Stack::start(None).await;
    let (org_id, org) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 1, 8, "25.00", "USD").await;
    let (_, ada) = stack.customer("Ada").await;
    let booking = book(&stack, &ada, &event.id, &["A-1-1", "A-1-2", "A-1-3"]).await;
    let codes: Vec<String> = tickets(&stack, &ada, &booking)
        .await
        .iter()
        .map(code)
        .collect();
    // Six doors per ticket, all at once.
    let scans = codes
        .iter()
        .flat_map(|c| std::iter::repeat_n(c, 6))
        .map(|c| {
            let stack = &stack;
            let org = &org;
            let event = &event.id;
            async move { (c.clone(), scan(stack, org, event, c).await) }
        });
    let results = futures::future::join_all(scans).await;
    for c in &codes {
        let mut statuses: Vec<u16> = results
            .iter()
            .filter(|(code, _)| code == c)
            .map(|(_, (s, _))| *s)
            .collect();
        statuses.sort();
        assert_eq!(statuses, [200, 409, 409, 409, 409, 409], "{c}: {results:?}");
        let times: Vec<&Value> = results
            .iter()
            .filter(|(code, _)| code == c)
            .map(|(_, (_, body))| &body["checked_in_at"])
            .collect();
        assert!(
            times.windows(2).all(|w| w[0] == w[1]),
            "one time: {times:?}"
        );
    }
}

/// The mailbox's emails to `email` whose subject starts with `subject`.
async fn mails(stack: &Stack, email: &str, subject: &str) -> Vec<Value> {
    stack
        .mailbox()
        .await
        .into_iter()
        .filter(|m| {
            m["to"][0] == email
                && m["subject"]
                    .as_str()
                    .is_some_and(|s| s.starts_with(subject))
        })
        .collect()
}

#[tokio::test]
async fn a_booking_is_confirmed_by_email_with_its_qr_tickets_and_a_cancellation_with_the_refund() {
    let stack = Stack::start_live(None).await;
    let (org_id, _) = stack.organizer("Org").await;
    let event = stack.event_with(&org_id, 1, 4, "40.00", "USD").await;
    let (ada_id, ada) = stack.customer("Ada").await;
    let email = email_of(&stack, &ada_id).await;
    let booking = book(&stack, &ada, &event.id, &["A-1-1", "A-1-2"]).await;
    let codes: Vec<String> = tickets(&stack, &ada, &booking)
        .await
        .iter()
        .map(code)
        .collect();

    let confirmation = stack
        .eventually_some("the confirmation email", 20, || async {
            mails(&stack, &email, "Your tickets for")
                .await
                .into_iter()
                .next()
        })
        .await;
    let text = confirmation["text"].as_str().expect("text");
    let html = confirmation["html"].as_str().expect("html");
    for needle in [event.name.as_str(), "A-1-1", "A-1-2", "80.00 USD", &booking] {
        assert!(
            text.contains(needle) && html.contains(needle),
            "{needle} missing: {text}"
        );
    }
    // Each ticket's code, and its QR picture inline (a PNG per ticket, which
    // the mailbox shows in place of the `cid:` reference).
    for c in &codes {
        assert!(text.contains(c.as_str()), "{c} missing: {text}");
    }
    let images = confirmation["images"].as_array().expect("images");
    assert_eq!(images.len(), 2, "{confirmation}");
    assert!(images
        .iter()
        .all(|i| i["type"] == "image/png" && i["bytes"].as_u64() > Some(100)));
    assert_eq!(html.matches("data:image/png;base64,").count(), 2);
    // "Manage your booking" opens the web app's page for it.
    assert!(
        html.contains(&format!("{}\"", stack.url(&format!("/bookings/{booking}")))),
        "the manage link opens the booking's web page"
    );

    let (status, _) = stack
        .delete_as(&ada, &format!("/api/v1/bookings/{booking}/cancel"))
        .await;
    assert_eq!(status, 200);
    let cancellation = stack
        .eventually_some("the cancellation email", 20, || async {
            mails(&stack, &email, "Booking cancelled")
                .await
                .into_iter()
                .next()
        })
        .await;
    assert!(
        cancellation["subject"]
            .as_str()
            .is_some_and(|s| s.contains("refund 80.00 USD")),
        "{cancellation}"
    );
    assert!(cancellation["text"]
        .as_str()
        .is_some_and(|t| t.contains("Refund: 80.00 USD")));
    // One of each, however the stream and the sweeper met.
    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
    assert_eq!(mails(&stack, &email, "Your tickets for").await.len(), 1);
    assert_eq!(mails(&stack, &email, "Booking cancelled").await.len(), 1);
}
