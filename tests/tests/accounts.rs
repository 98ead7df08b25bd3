//! Account basics: changing a password ends every earlier session, a reset
//! by email works once within its half hour, and "my bookings" splits into
//! upcoming and past — with every way the input can be wrong.

use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::{json, Value};

const ME: &str = "/api/v1/auth/me";
const PASSWORD: &str = "/api/v1/auth/password";
const RESET: &str = "/api/v1/auth/password-reset";
const RESET_CONFIRM: &str = "/api/v1/auth/password-reset/confirm";
const FIRST: &str = "correct horse battery";
const SECOND: &str = "staple the second horse";

/// Registers a new customer with a unique address: (email, token).
async fn register(stack: &Stack, name: &str) -> (String, String) {
    let email = format!(
        "{name}.{}@example.test",
        evently_core::new_id()[16..].to_lowercase()
    );
    let (status, body) = stack
        .post(
            "/api/v1/auth/register",
            &json!({"email": email, "password": FIRST, "name": name}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    (
        email,
        body["access_token"].as_str().expect("token").to_owned(),
    )
}

async fn login_status(stack: &Stack, email: &str, password: &str) -> u16 {
    stack
        .post(
            "/api/v1/auth/login",
            &json!({"email": email, "password": password}),
        )
        .await
        .0
}

#[tokio::test]
async fn a_password_change_ends_every_earlier_session_and_the_new_password_logs_in() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let demo = stack.event_id(DEMO_NIGHT);
    let (email, first) = register(&stack, "changer").await;
    let second = stack.login(&email, FIRST).await;

    // Wrong input changes nothing: the old password still logs in.
    let refusals = [
        (
            json!({"current_password": "not my password", "new_password": SECOND}),
            403,
        ),
        (
            json!({"current_password": FIRST, "new_password": "short"}),
            422,
        ),
        (
            json!({"current_password": FIRST, "new_password": FIRST}),
            422,
        ),
        (json!({"current_password": FIRST}), 422),
        (
            json!({"current_password": FIRST, "new_password": SECOND, "extra": 1}),
            422,
        ),
    ];
    for (body, want) in refusals {
        let (status, problem) = stack.post_as(&first, PASSWORD, &body, None).await;
        assert_eq!(status, want, "{body} → {problem}");
        assert!(problem["detail"].is_string(), "problem+json: {problem}");
    }
    let (status, _) = stack
        .post(
            PASSWORD,
            &json!({"current_password": FIRST, "new_password": SECOND}),
        )
        .await;
    assert_eq!(status, 401, "no token, no change");
    assert_eq!(login_status(&stack, &email, FIRST).await, 200);
    assert_eq!(stack.get(ME, Some(&second)).await.0, 200);

    let (status, body) = stack
        .post_as(
            &first,
            PASSWORD,
            &json!({"current_password": FIRST, "new_password": SECOND}),
            None,
        )
        .await;
    assert_eq!(status, 204, "{body}");

    // Both earlier sessions are over: reads, and the on-sale's hold, whose
    // check rides in its transaction (nothing is held).
    for token in [&first, &second] {
        let (status, problem) = stack.get(ME, Some(token)).await;
        assert_eq!(status, 401, "{problem}");
        assert!(
            problem["detail"]
                .as_str()
                .unwrap_or("")
                .contains("password"),
            "{problem}"
        );
        assert_eq!(stack.get("/api/v1/bookings/me", Some(token)).await.0, 401);
        let (status, refused) = stack.hold(token, &demo, "A", &["A-1-1"]).await;
        assert_eq!(status, 401, "{refused}");
    }
    assert_eq!(stack.seat_status(&demo, "A-1-1").await, "available");
    let (status, _) = stack
        .post_as(
            &first,
            PASSWORD,
            &json!({"current_password": SECOND, "new_password": "a third horse staple"}),
            None,
        )
        .await;
    assert_eq!(
        status, 401,
        "an ended session cannot change the password either"
    );

    assert_eq!(login_status(&stack, &email, FIRST).await, 401);
    let fresh = stack.login(&email, SECOND).await;
    assert_eq!(stack.get(ME, Some(&fresh)).await.0, 200);
    let (status, held) = stack.hold(&fresh, &demo, "A", &["A-1-1"]).await;
    assert_eq!(status, 201, "{held}");
}

/// The reset tokens in the emails sent to `email`, newest first.
fn reset_tokens(mails: &[Value], email: &str) -> Vec<String> {
    mails
        .iter()
        .filter(|m| m["to"][0] == email && m["subject"] == "Reset your Evently password")
        .filter_map(|m| {
            let text = m["text"].as_str()?;
            let at = text.find("token=")? + "token=".len();
            Some(text.get(at..at + 64)?.to_owned())
        })
        .collect()
}

#[tokio::test]
async fn a_password_reset_by_email_works_once_within_its_half_hour() {
    let stack = Stack::start_live(None).await;
    let (email, session) = register(&stack, "forgetful").await;
    let nobody = format!(
        "nobody.{}@example.test",
        evently_core::new_id().to_lowercase()
    );

    // The same answer whether or not the address has an account, and
    // neither sooner than the floor that hides the account's extra write.
    let started = std::time::Instant::now();
    let (status, asked) = stack
        .post(RESET, &json!({"email": email.to_uppercase()}))
        .await;
    let for_account = started.elapsed();
    assert_eq!(status, 202, "{asked}");
    let started = std::time::Instant::now();
    let (status, unknown) = stack.post(RESET, &json!({"email": nobody})).await;
    let for_nobody = started.elapsed();
    assert_eq!((status, &unknown), (202, &asked));
    let floor = auth_password_reset::ANSWER_FLOOR;
    assert!(
        for_account >= floor && for_nobody >= floor,
        "{for_account:?} {for_nobody:?}"
    );
    for bad in [
        json!({"email": "not an address"}),
        json!({}),
        json!({"email": email, "x": 1}),
    ] {
        let (status, problem) = stack.post(RESET, &bad).await;
        assert!(status == 400 || status == 422, "{bad} → {status} {problem}");
    }
    let token = stack
        .eventually_some("the reset email", 30, || async {
            reset_tokens(&stack.mailbox().await, &email)
                .into_iter()
                .next()
        })
        .await;
    // A second request: a second, different link.
    assert_eq!(stack.post(RESET, &json!({"email": email})).await.0, 202);
    let later = stack
        .eventually_some("the second reset email", 30, || async {
            let tokens = reset_tokens(&stack.mailbox().await, &email);
            (tokens.len() == 2).then(|| tokens[0].clone())
        })
        .await;
    assert_ne!(token, later);
    let mails = stack.mailbox().await;
    assert!(
        !mails.iter().any(|m| m["to"][0] == nobody.as_str()),
        "no email to an address without an account"
    );
    // The token is only in the email: not in what the account can read.
    let (_, notes) = stack.get("/api/v1/notifications/me", Some(&session)).await;
    assert!(
        notes["notifications"]
            .as_array()
            .is_some_and(|n| !n.is_empty()),
        "{notes}"
    );
    assert!(!notes.to_string().contains(&token), "{notes}");

    // Bad input uses nothing up.
    let refusals = [
        (json!({"token": token, "new_password": "short"}), 422),
        (json!({"token": "garbage", "new_password": SECOND}), 422),
        (
            json!({"token": "0".repeat(64), "new_password": SECOND}),
            410,
        ),
        (json!({"token": token}), 422),
    ];
    for (body, want) in refusals {
        let (status, problem) = stack.post(RESET_CONFIRM, &body).await;
        assert_eq!(status, want, "{body} → {problem}");
    }
    assert_eq!(login_status(&stack, &email, FIRST).await, 200);

    let (status, body) = stack
        .post(
            RESET_CONFIRM,
            &json!({"token": token, "new_password": SECOND}),
        )
        .await;
    assert_eq!(status, 204, "{body}");
    let (status, problem) = stack
        .post(
            RESET_CONFIRM,
            &json!({"token": token, "new_password": "yet another horse"}),
        )
        .await;
    assert_eq!(status, 410, "used twice: {problem}");
    assert_eq!(
        stack.get(ME, Some(&session)).await.0,
        401,
        "sessions from before end"
    );
    assert_eq!(login_status(&stack, &email, FIRST).await, 401);
    assert_eq!(login_status(&stack, &email, SECOND).await, 200);

    // The other link has run out after 30 minutes.
    stack.clock.advance(chrono::Duration::minutes(31));
    let (status, problem) = stack
        .post(
            RESET_CONFIRM,
            &json!({"token": later, "new_password": "yet another horse"}),
        )
        .await;
    assert_eq!(status, 410, "expired: {problem}");
    assert_eq!(login_status(&stack, &email, SECOND).await, 200);
}

#[tokio::test]
async fn my_bookings_split_into_upcoming_and_past() {
    let stack = Stack::start(Some(SeedSize::Small)).await;
    let demo = stack.event_id(DEMO_NIGHT);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let (_, hold) = stack.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (status, booked) = stack
        .confirm(&user1, hold["hold_id"].as_str().unwrap_or(""), "tok_visa")
        .await;
    assert_eq!(status, 201, "{booked}");
    let ids = |body: &Value| -> Vec<String> {
        body["bookings"]
            .as_array()
            .map(|b| {
                b.iter()
                    .filter_map(|b| b["id"].as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default()
    };
    let booking = booked["booking"]["id"].as_str().expect("id").to_owned();
    let (status, upcoming) = stack
        .get("/api/v1/bookings/me?when=upcoming", Some(&user1))
        .await;
    assert_eq!(status, 200, "{upcoming}");
    assert_eq!(ids(&upcoming), vec![booking.clone()]);
    assert_eq!(upcoming["bookings"][0]["event"]["name"], DEMO_NIGHT);
    // What cancelling would give back now, by the event's policy (shown
    // before the customer confirms): refund and fee make up the total.
    let preview = &upcoming["bookings"][0]["cancellation"];
    assert_eq!(preview["allowed"], true, "{upcoming}");
    let cents = |v: &Value| -> i64 {
        v.as_str()
            .and_then(|s| s.replace('.', "").parse().ok())
            .expect("money")
    };
    assert_eq!(
        cents(&preview["refund_amount"]) + cents(&preview["cancellation_fee"]),
        cents(&upcoming["bookings"][0]["total_price"]),
        "{preview}"
    );
    let (_, past) = stack
        .get("/api/v1/bookings/me?when=past", Some(&user1))
        .await;
    assert!(ids(&past).is_empty(), "{past}");
    let (_, all) = stack.get("/api/v1/bookings/me", Some(&user1)).await;
    assert_eq!(ids(&all), vec![booking.clone()]);

    // After the event has ended, the booking is past.
    let (_, event) = stack.get(&format!("/api/v1/events/{demo}"), None).await;
    let ends: chrono::DateTime<chrono::Utc> = event["ends_at"]
        .as_str()
        .and_then(|t| t.parse().ok())
        .expect("ends_at");
    stack
        .clock
        .advance(ends - chrono::Utc::now() + chrono::Duration::hours(1));
    let (_, upcoming) = stack
        .get("/api/v1/bookings/me?when=upcoming", Some(&user1))
        .await;
    assert!(ids(&upcoming).is_empty(), "{upcoming}");
    let (_, past) = stack
        .get("/api/v1/bookings/me?when=past", Some(&user1))
        .await;
    assert_eq!(ids(&past), vec![booking]);

    for bad in ["soon", "", "UPCOMING"] {
        let (status, problem) = stack
            .get(&format!("/api/v1/bookings/me?when={bad}"), Some(&user1))
            .await;
        assert_eq!(status, 422, "when={bad}: {problem}");
    }
}
