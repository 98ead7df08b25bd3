//! What the logs say: a claim token is a credential (whoever has it can see
//! and book the offer), so it must never reach a log line — not from the
//! worker that makes the offer, the email it sends, the sweeper, the local
//! gateway's request log, or the claim link being opened. Runs the waitlist
//! flow with every log line at DEBUG captured (the deployed default is
//! INFO; TRACE is not allowed by the template).

use std::sync::{Arc, Mutex};

use evently_local::seed::SeedSize;
use evently_tests::{Stack, DEMO_NIGHT, DEMO_PASSWORD};
use serde_json::json;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().expect("lock").extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn claim_tokens_never_reach_the_logs() {
    let captured = Captured::default();
    let writer = captured.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .init();
    let stack = Stack::start_with_waitlist(
        Some(SeedSize::Small),
        evently_waitlist::EngineConfig::default(),
        std::time::Duration::from_millis(500),
    )
    .await;
    let demo = stack.event_id(DEMO_NIGHT);
    let user1 = stack.login("user1@example.com", DEMO_PASSWORD).await;
    let user2 = stack.login("user2@example.com", DEMO_PASSWORD).await;
    let (_, hold) = stack.hold(&user1, &demo, "A", &["A-1-1", "A-1-2"]).await;
    let (_, booked) = stack
        .confirm(&user1, hold["hold_id"].as_str().expect("hold"), "tok_visa")
        .await;
    let booking = booked["booking"]["id"]
        .as_str()
        .expect("booking")
        .to_owned();
    let join = json!({"event_id": demo, "quantity": 2});
    assert_eq!(
        stack
            .post_as(&user2, "/api/v1/waitlist/join", &join, None)
            .await
            .0,
        201
    );
    assert_eq!(
        stack
            .delete_as(&user1, &format!("/api/v1/bookings/{booking}/cancel"))
            .await
            .0,
        200
    );
    let status_path = format!("/api/v1/waitlist/status/{demo}");
    stack
        .eventually("user2 is offered the seats", 20, || async {
            stack.get(&status_path, Some(&user2)).await.1["entry"]["status"] == "offered"
        })
        .await;
    let (_, status) = stack.get(&status_path, Some(&user2)).await;
    let claim = status["entry"]["offer"]["claim_url"]
        .as_str()
        .expect("claim link")
        .to_owned();
    let token = claim.rsplit('/').next().expect("token").to_owned();
    assert_eq!(token.len(), 32);
    // The claim link is opened, and the offer runs out and is swept.
    assert_eq!(stack.get(&claim, None).await.0, 200);
    stack.clock.advance(chrono::Duration::seconds(901));
    stack
        .eventually("the offer expires", 20, || async {
            stack.get(&status_path, Some(&user2)).await.1["entry"]["status"] == "expired"
        })
        .await;
    let logs = String::from_utf8(captured.0.lock().expect("lock").clone()).expect("utf-8");
    assert!(logs.contains("waitlist offer made"), "the flow was logged");
    assert!(
        logs.contains("<claim token>"),
        "the claim link request was logged, redacted"
    );
    let leaks: Vec<&str> = logs.lines().filter(|l| l.contains(&token)).collect();
    assert!(
        leaks.is_empty(),
        "claim token in the logs:\n{}",
        leaks.join("\n")
    );
}
